using System.Diagnostics;
using Codebuff.Server.Admin;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Billing;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Codebuff.Server.Tests.Auth;

/// <summary>
/// The chat route's caller cache (Auth/CallerCache.cs) on two instances of one database: a change made through one
/// instance (or straight in the database) reaches the other, which had the caller cached, through LISTEN/NOTIFY; and
/// the cache is off while the database is down and back in use after it restarted.
/// </summary>
public sealed class CallerCacheTests(FaultCluster cluster) : IClassFixture<FaultCluster>
{
    const string InvalidKey = """{"message":"Invalid Codebuff API key"}""";

    static Uri Address(WebApplication app) => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    static HttpClient Client(WebApplication app, string token)
    {
        var client = new HttpClient { BaseAddress = Address(app) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    Task<WebApplication> StartAsync() => ServerFixture.StartServerAsync(cluster.InstanceConnectionString(),
        cluster.Settings(Path.Combine(Path.GetTempPath(), "codebuff-cache-data-" + Guid.NewGuid().ToString("N")[..12])));

    static async Task<(TestUser User, string RunId)> UserWithRunAsync(WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var created = await AdminCommands.CreateUserAsync(scope.ServiceProvider, $"c{Guid.NewGuid():N}@example.com", "Cache", null, 1_000_000, CancellationToken.None);
        using var client = Client(app, created.apiKey);
        var start = await client.PostAsync("/api/v1/agent-runs", new StringContent("""{"action":"START","agentId":"greeter","ancestorRunIds":[]}"""));
        start.EnsureSuccessStatusCode();
        return (new TestUser(created.userId, created.email, created.apiKey), (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!);
    }

    /// <summary>A successful chat call through <paramref name="app"/>, after which its cache holds the token's caller.</summary>
    static async Task CallAndAssertCachedAsync(WebApplication app, string token, string runId)
    {
        using var client = Client(app, token);
        var ok = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: false));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("\"choices\"", await ok.Content.ReadAsStringAsync());
        Assert.NotNull(app.Services.GetRequiredService<CallerCache>().Find(app.Services.GetRequiredService<TokenHasher>().Hash(token)));
    }

    /// <summary>Calls through <paramref name="app"/> until one is refused; returns that refusal.</summary>
    static async Task<(HttpStatusCode Status, string Body)> RefusedSoonAsync(WebApplication app, string token, string runId)
    {
        using var client = Client(app, token);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var response = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: false));
            if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, await response.Content.ReadAsStringAsync());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the change did not reach the second instance within 5 s");
            await Task.Delay(20);
        }
    }

    static async Task WaitUntilAsync(Func<bool> done, int seconds)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(clock.Elapsed.TotalSeconds < seconds, $"not done within {seconds} s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_key_revoked_through_one_instance_is_refused_by_another_that_had_it_cached()
    {
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        var (user, runId) = await UserWithRunAsync(first);
        using var owner = Client(first, user.ApiKey);
        var created = await owner.PostAsJsonAsync("/api/api-keys", new { name = "second key" });
        var key = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["token"]!;
        await CallAndAssertCachedAsync(second, key, runId);

        // A token's id is its stored hash.
        var id = second.Services.GetRequiredService<TokenHasher>().Hash(key);
        Assert.Contains(id, (await owner.GetFromJsonAsync<JsonObject>("/api/api-keys"))!["tokens"]!.AsArray().Select(t => (string?)t!["id"]));
        var revoke = await owner.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/sessions") { Content = JsonContent.Create(new { tokenIds = new[] { id } }) });
        Assert.Equal("""{"revokedSessions":0,"revokedTokens":1}""", await revoke.Content.ReadAsStringAsync());

        var (status, body) = await RefusedSoonAsync(second, key, runId);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(InvalidKey, body);
        await CallAndAssertCachedAsync(second, user.ApiKey, runId); // the user's other key still works there
    }

    [Fact]
    public async Task A_logged_out_session_is_refused_by_another_instance_that_had_it_cached()
    {
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        var (user, runId) = await UserWithRunAsync(first);
        var web = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var hash = first.Services.GetRequiredService<TokenHasher>().Hash(web);
        await cluster.ScalarAsync($"""INSERT INTO session ("sessionToken", "userId", expires, type) VALUES ('{hash}', '{user.Id}', now() + interval '30 days', 'web') RETURNING 1""");
        await CallAndAssertCachedAsync(second, web, runId);

        using var owner = Client(first, user.ApiKey);
        var logout = await owner.PostAsync("/api/user/sessions/logout-all", null);
        Assert.Equal("""{"ok":true}""", await logout.Content.ReadAsStringAsync());

        var (status, body) = await RefusedSoonAsync(second, web, runId);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(InvalidKey, body);
    }

    [Fact]
    public async Task A_ban_reaches_an_instance_that_had_the_user_cached()
    {
        await using var first = await StartAsync();
        var (user, runId) = await UserWithRunAsync(first);
        await CallAndAssertCachedAsync(first, user.ApiKey, runId);

        await using (var db = NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true));

        var (status, body) = await RefusedSoonAsync(first, user.ApiKey, runId);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("""{"error":"account_suspended","message":"Your account has been suspended due to billing issues. Please contact support@codebuff.com to resolve this."}""", body);
    }

    [Fact]
    public async Task The_cache_is_off_while_the_database_is_down_and_in_use_again_after_it_restarted()
    {
        await using var app = await StartAsync();
        var cache = app.Services.GetRequiredService<CallerCache>();
        var (user, runId) = await UserWithRunAsync(app);
        await CallAndAssertCachedAsync(app, user.ApiKey, runId);

        await cluster.StopDatabaseAsync();
        await WaitUntilAsync(() => !cache.Enabled, 10);
        Assert.Null(cache.Find(app.Services.GetRequiredService<TokenHasher>().Hash(user.ApiKey)));
        using (var client = Client(app, user.ApiKey))
        {
            // Nothing is answered from the cache meanwhile: the caller lookup needs the database.
            var refused = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: false));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("database_unavailable", (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        }

        await cluster.StartDatabaseAsync();
        await WaitUntilAsync(() => cache.Enabled, 30);
        NpgsqlConnection.ClearAllPools();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // The first calls may meet pooled connections that died with the database.
            try
            {
                await CallAndAssertCachedAsync(app, user.ApiKey, runId);
                break;
            }
            catch (Xunit.Sdk.XunitException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(200);
            }
        }

        await using (var db = NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true));
        var (status, body) = await RefusedSoonAsync(app, user.ApiKey, runId);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("account_suspended", body);
    }

    AppDbContext NewDbContext()
    {
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Pooling = false }.ConnectionString);
        return new AppDbContext(options.Options);
    }
}
