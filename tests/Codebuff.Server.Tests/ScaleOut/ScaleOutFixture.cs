using Codebuff.Server.Tests.Auth;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.ScaleOut;

/// <summary>
/// Three server instances on one database, each with its own data directory and the same configured secrets (the
/// settings README "Scaling out" says to copy), a fake provider and a fake GitHub.
/// </summary>
public sealed class ScaleOutFixture : ChatFixture
{
    public const int ChatPerMinute = 10, TokensPerMinute = 4;
    readonly List<WebApplication> _others = [];
    readonly List<string> _dataDirs = [];

    public FakeGitHub GitHub { get; private set; } = null!;
    public List<Uri> Instances { get; } = [];

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        GitHub.Configure(s);
        s["Codebuff:RateLimits:TokensPerMinute"] = TokensPerMinute.ToString();
        s["Codebuff:Chat:RateLimitPerMinute"] = ChatPerMinute.ToString();
        s["Codebuff:Chat:RateLimitBurst"] = ChatPerMinute.ToString();
        s["Codebuff:SeedBuiltinAgents"] = "false";
        var dataDir = Path.Combine(Path.GetTempPath(), "cb-scale-" + Guid.NewGuid().ToString("N")[..8]);
        _dataDirs.Add(dataDir);
        s["Codebuff:DataDir"] = dataDir;
        return s;
    }

    public override async Task InitializeAsync()
    {
        GitHub = await FakeGitHub.StartAsync();
        await base.InitializeAsync();
        Instances.Add(BaseAddress);
        for (var i = 1; i < 3; i++)
        {
            var app = await StartServerAsync(ConnectionString, Settings());
            _others.Add(app);
            Instances.Add(new Uri(app.Urls.First()));
        }
    }

    /// <summary>A client behind the round-robin proxy over the first <paramref name="count"/> instances.</summary>
    public (HttpClient Client, RoundRobinProxy Proxy) Balanced(int count, TestUser? user = null, System.Net.CookieContainer? cookies = null)
    {
        var proxy = new RoundRobinProxy(Instances.Take(count).ToList(), cookies);
        var client = proxy.Client();
        if (user is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", user.ApiKey);
        return (client, proxy);
    }

    public override async Task DisposeAsync()
    {
        foreach (var app in _others) await app.DisposeAsync();
        await base.DisposeAsync();
        await GitHub.DisposeAsync();
        foreach (var dir in _dataDirs.Where(Directory.Exists)) Directory.Delete(dir, recursive: true);
    }
}
