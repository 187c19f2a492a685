using System.Net.Http.Headers;
using Codebuff.Server.Admin;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>
/// The real server, listening on a loopback port over real HTTP, on its own database cloned from the template.
/// Subclasses add settings (fake upstream URLs, …) by overriding <see cref="Settings"/>.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    WebApplication? _app;

    public string ConnectionString { get; private set; } = "";
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "codebuff-test-data-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Settings every test server gets; override and add to change behaviour.</summary>
    protected virtual Dictionary<string, string?> Settings() => new()
    {
        ["Codebuff:AuthSecret"] = "test-auth-secret",
        // Its own data directory, so its billing journal is its own (and is never adopted by another test's server).
        ["Codebuff:DataDir"] = DataDir,
        ["Codebuff:AppUrl"] = "http://localhost:5000",
        ["Logging:LogLevel:Default"] = "Warning",
        // The store snapshot is rebuilt for every request, so a test sees the runs it just finished (the shipped 30 s
        // staleness has its own test in Agents/StoreSnapshotTests).
        ["Codebuff:Reads:StoreMaxAgeSeconds"] = "0",
        // An answer waits this long for its charge to commit (shipped: 2 s, then it is released on the journal's strength
        // and the message row lands later). Under a loaded CI machine a commit can take longer than 2 s, and a test that
        // counts message rows right after an answer saw one missing (ChatRateLimitTests, CI 2026-12-07). The released-
        // early path has its own tests on their own fixtures (Billing/BillingFaultTests).
        ["Codebuff:Billing:CommitWaitSeconds"] = "60",
    };

    /// <summary>Replaces service registrations of the server under test (e.g. a settable clock).</summary>
    protected virtual void ConfigureServices(IServiceCollection services) { }

    public virtual async Task InitializeAsync()
    {
        ConnectionString = await TestCluster.CreateDatabaseAsync();
        _app = await StartServerAsync(ConnectionString, Settings(), ConfigureServices);
        // A server bound to every interface (0.0.0.0) is reached over loopback.
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("//0.0.0.0:", "//127.0.0.1:"));
        Client = new HttpClient { BaseAddress = BaseAddress };
    }

    /// <summary>Starts another server process-in-process on the same database (e.g. a second connection pool).</summary>
    public static async Task<WebApplication> StartServerAsync(string connectionString, Dictionary<string, string?> settings,
        Action<IServiceCollection>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory, ApplicationName = "Codebuff.Server" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration["ConnectionStrings:Default"] = connectionString;
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = ServerApp.Build(builder, overrides);
        await app.StartAsync();
        return app;
    }

    public AppDbContext NewDbContext()
    {
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, ConnectionString);
        return new AppDbContext(options.Options);
    }

    /// <summary>A user with a personal access token, created the way operators do it (admin create-user).</summary>
    public async Task<TestUser> CreateUserAsync(int? credits = null, string? email = null)
    {
        await using var scope = Services.CreateAsyncScope();
        var created = await AdminCommands.CreateUserAsync(scope.ServiceProvider, email ?? $"u{Guid.NewGuid():N}@example.com", "Test User", null, credits, CancellationToken.None);
        return new TestUser(created.userId, created.email, created.apiKey);
    }

    /// <summary>A client that sends the user's token as "Authorization: Bearer".</summary>
    public HttpClient ClientFor(TestUser user)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.ApiKey);
        return client;
    }

    /// <summary>A fresh web session of the user (the dashboard's credential, as sign-in makes it); its raw cookie value.</summary>
    public async Task<string> WebSessionTokenAsync(TestUser user, TimeSpan? lifetime = null)
    {
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var db = NewDbContext();
        db.Sessions.Add(new Session
        {
            SessionToken = Services.GetRequiredService<TokenHasher>().Hash(token), UserId = user.Id, Type = SessionType.Web,
            Expires = DateTime.UtcNow + (lifetime ?? TimeSpan.FromDays(30)),
        });
        await db.SaveChangesAsync();
        return token;
    }

    /// <summary>A client carrying only a web session cookie (the dashboard's credential) for a fresh session of the user.</summary>
    public async Task<HttpClient> CookieClientAsync(TestUser user)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Add("Cookie", $"{WebSession.Cookie}={await WebSessionTokenAsync(user)}");
        return client;
    }

    public virtual async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

public sealed record TestUser(string Id, string Email, string ApiKey);
