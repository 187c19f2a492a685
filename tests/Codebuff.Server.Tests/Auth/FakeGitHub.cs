using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Codebuff.Server.Tests.Auth;

/// <summary>
/// GitHub's OAuth and REST endpoints as a tiny loopback server: authorize approves at once (for whoever
/// <see cref="NextUser"/> is), the code exchange checks the app's credentials, /user and /user/emails answer.
/// </summary>
public sealed class FakeGitHub : IAsyncDisposable
{
    public const string ClientId = "fake-client-id";
    public const string ClientSecret = "fake-client-secret";

    public sealed record GitHubIdentity(long Id, string Login, string? Name, string Email, bool Verified = true);

    readonly WebApplication _app;
    readonly ConcurrentDictionary<string, GitHubIdentity> _codes = new();
    readonly ConcurrentDictionary<string, GitHubIdentity> _tokens = new();

    public GitHubIdentity NextUser { get; set; } = new(1, "octo", "Octo Cat", "octo@example.com");
    public string Url { get; }
    public int Exchanges;

    FakeGitHub(WebApplication app, string url) { _app = app; Url = url; }

    public static async Task<FakeGitHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeGitHub? self = null;
        app.MapGet("/login/oauth/authorize", (string client_id, string redirect_uri, string state) =>
        {
            if (client_id != ClientId) return Results.BadRequest("unknown client");
            var code = Guid.NewGuid().ToString("N");
            self!._codes[code] = self.NextUser;
            return Results.Redirect($"{redirect_uri}?code={code}&state={Uri.EscapeDataString(state)}");
        });
        app.MapPost("/login/oauth/access_token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            Interlocked.Increment(ref self!.Exchanges);
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret || !self._codes.TryRemove(form["code"].ToString(), out var who))
                return Results.Json(new { error = "bad_verification_code" });
            var token = "gho_" + Guid.NewGuid().ToString("N");
            self._tokens[token] = who;
            return Results.Json(new { access_token = token, token_type = "bearer", scope = "read:user,user:email" });
        });
        app.MapGet("/user", (HttpRequest request) => self!.Who(request) is { } u
            ? Results.Json(new { id = u.Id, login = u.Login, name = u.Name, email = (string?)null, avatar_url = $"https://avatars.example/{u.Id}" })
            : Results.Unauthorized());
        app.MapGet("/user/emails", (HttpRequest request) => self!.Who(request) is { } u
            ? Results.Json(new[] { new { email = u.Email, primary = true, verified = u.Verified } })
            : Results.Unauthorized());
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeGitHub(app, url);
        return self;
    }

    /// <summary>Points a server's GitHub settings at this fake.</summary>
    public void Configure(Dictionary<string, string?> settings)
    {
        settings["Codebuff:GitHub:ClientId"] = ClientId;
        settings["Codebuff:GitHub:ClientSecret"] = ClientSecret;
        settings["Codebuff:GitHub:BaseUrl"] = Url;
        settings["Codebuff:GitHub:ApiBaseUrl"] = Url;
    }

    GitHubIdentity? Who(HttpRequest request) =>
        request.Headers.Authorization.ToString() is var h && h.StartsWith("Bearer ") && _tokens.TryGetValue(h[7..], out var u) ? u : null;

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>The server wired to a fake GitHub.</summary>
public class AuthFixture : Infrastructure.ServerFixture
{
    public FakeGitHub GitHub { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        GitHub = await FakeGitHub.StartAsync();
        await base.InitializeAsync();
    }

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        GitHub.Configure(s);
        s["Codebuff:RateLimits:LoginPerMinute"] = "1000";
        s["Codebuff:RateLimits:StatusPerMinute"] = "1000";
        s["Codebuff:RateLimits:TokensPerMinute"] = "1000";
        return s;
    }

    /// <summary>A browser-like client: keeps cookies, follows redirects (to the fake GitHub and back).</summary>
    public HttpClient Browserish(out System.Net.CookieContainer cookies)
    {
        cookies = new System.Net.CookieContainer();
        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = true }) { BaseAddress = BaseAddress };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await GitHub.DisposeAsync();
    }
}
