using System.Diagnostics;
using Codebuff.Server.Admin;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Codebuff.Server.Tests.Billing;

/// <summary>
/// A cluster of its own with PostgreSQL's stock max_connections = 100, reached through a <see cref="TcpFaultProxy"/>
/// so that it can be stopped and restarted (on a new port) under the servers' feet.
/// </summary>
public sealed class FaultCluster : IAsyncLifetime
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "codebuff-faults-" + Guid.NewGuid().ToString("N")[..8]);
    EmbeddedPostgres _pg = null!;
    public TcpFaultProxy Proxy { get; private set; } = null!;
    public FakeUpstream Upstream { get; } = new();

    public string ConnectionString => new NpgsqlConnectionStringBuilder(_pg.ConnectionString) { Port = Proxy.Port }.ConnectionString;

    /// <summary>
    /// A distinct application name per server gives each in-process instance its own Npgsql pool, as separate
    /// processes would have (pools are per connection string).
    /// </summary>
    public string InstanceConnectionString() =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { ApplicationName = "codebuff-" + Guid.NewGuid().ToString("N")[..8] }.ConnectionString;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        if (Environment.UserName == "root") File.SetUnixFileMode(_root, (UnixFileMode)0b111_101_101);
        _pg = await EmbeddedPostgres.StartAsync(_root, durable: false);
        await using (var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_pg.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await conn.OpenAsync();
            await new NpgsqlCommand("ALTER SYSTEM SET max_connections = 100", conn).ExecuteNonQueryAsync();
        }
        await _pg.StopAsync();
        _pg = await EmbeddedPostgres.StartAsync(_root, durable: false);
        Proxy = new TcpFaultProxy(_pg.Port);
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await using (var db = new AppDbContext(options.Options)) await db.Database.MigrateAsync();
        await Upstream.StartAsync();
    }

    public async Task StopDatabaseAsync()
    {
        await _pg.StopAsync();
        Proxy.CutAll();
    }

    public async Task StartDatabaseAsync()
    {
        _pg = await EmbeddedPostgres.StartAsync(_root, durable: false);
        Proxy.TargetPort = _pg.Port;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_pg.ConnectionString) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        return Convert.ToInt64(await new NpgsqlCommand(sql, conn).ExecuteScalarAsync());
    }

    public Dictionary<string, string?> Settings(string dataDir) => new()
    {
        ["Codebuff:AuthSecret"] = "test-auth-secret",
        ["Codebuff:DataDir"] = dataDir,
        ["Codebuff:Upstream:BaseUrl"] = Upstream.BaseUrl, ["Codebuff:Upstream:ReportsCost"] = "true",
        ["Codebuff:Chat:RateLimitBurst"] = "100000",
        ["Codebuff:Chat:RateLimitPerMinute"] = "100000",
        ["Logging:LogLevel:Default"] = "Error",
    };

    public async Task DisposeAsync()
    {
        await Upstream.DisposeAsync();
        await Proxy.DisposeAsync();
        await _pg.StopAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

public sealed class BillingFaultTests(FaultCluster cluster) : IClassFixture<FaultCluster>
{
    static string TempDir() => Path.Combine(Path.GetTempPath(), "codebuff-fault-data-" + Guid.NewGuid().ToString("N")[..12]);

    static Uri Address(WebApplication app) => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    static async Task<(TestUser User, string RunId)> UserWithRunAsync(WebApplication app, int credits)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var created = await AdminCommands.CreateUserAsync(scope.ServiceProvider, $"f{Guid.NewGuid():N}@example.com", "Fault", null, credits, CancellationToken.None);
        var user = new TestUser(created.userId, created.email, created.apiKey);
        using var client = Client(Address(app), user);
        var start = await client.PostAsync("/api/v1/agent-runs", new StringContent("""{"action":"START","agentId":"greeter","ancestorRunIds":[]}"""));
        start.EnsureSuccessStatusCode();
        return (user, (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!);
    }

    static HttpClient Client(Uri baseAddress, TestUser user)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", user.ApiKey);
        return client;
    }

    /// <summary>Every credit consumed from the user's grants has a message row saying why, and vice versa.</summary>
    async Task AssertLedgerMatchesMessagesAsync(string userId, int expectedMessages)
    {
        Assert.Equal(expectedMessages, await cluster.ScalarAsync($"SELECT count(*) FROM message WHERE user_id = '{userId}'"));
        var billed = await cluster.ScalarAsync($"SELECT coalesce(sum(credits), 0) FROM message WHERE user_id = '{userId}'");
        var consumed = await cluster.ScalarAsync($"SELECT sum(principal - balance) FROM credit_ledger WHERE user_id = '{userId}'");
        Assert.Equal(billed, consumed);
        Assert.True(billed >= expectedMessages, "each fake answer costs at least one credit");
    }

    /// <summary>
    /// Calls, half of them streamed, of a model the fake provider holds until <see cref="FakeUpstream.Hold"/> completes;
    /// returns once every call has passed the gates (the provider has them all), so a test controls when answers arrive.
    /// </summary>
    async Task<List<Task<(HttpStatusCode StatusCode, string Text)>>> HeldCallsAsync(HttpClient client, string runId, int count)
    {
        cluster.Upstream.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = $"test/held-{Guid.NewGuid():N}";
        var calls = Enumerable.Range(0, count).Select(async i =>
        {
            var response = await client.PostChatAsync(ChatFixture.ChatBody(model, runId, stream: i % 2 == 0));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }).ToList();
        await WaitUntilAsync(() => Task.FromResult(cluster.Upstream.Requests.Count(r => (string?)r.Body["model"] == model) == count), 120);
        return calls;
    }

    static async Task WaitUntilAsync(Func<Task<bool>> done, int seconds)
    {
        var clock = Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(clock.Elapsed.TotalSeconds < seconds, $"not done within {seconds} s");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Two_instances_and_300_concurrent_calls_of_one_user_fit_in_max_connections_100_and_all_are_billed()
    {
        await using var first = await ServerFixture.StartServerAsync(cluster.InstanceConnectionString(), cluster.Settings(TempDir()));
        await using var second = await ServerFixture.StartServerAsync(cluster.InstanceConnectionString(), cluster.Settings(TempDir()));
        var (user, runId) = await UserWithRunAsync(first, 1_000_000);
        using var a = Client(Address(first), user);
        using var b = Client(Address(second), user);

        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            var response = await (i % 2 == 0 ? a : b).PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: i % 4 < 2));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text);
        }));

        Assert.All(answers, x => Assert.True(x.StatusCode == HttpStatusCode.OK, $"{(int)x.StatusCode}: {x.text}"));
        // Answers are released when their charge committed (or, if that took too long, when it was journaled).
        await WaitUntilAsync(() => Task.FromResult(first.Services.GetRequiredService<ChargeQueue>().Pending == 0
                                                   && second.Services.GetRequiredService<ChargeQueue>().Pending == 0), 60);
        await AssertLedgerMatchesMessagesAsync(user.Id, 300);
    }

    [Fact]
    public async Task Answers_that_arrive_while_the_database_is_down_are_billed_once_it_is_back_and_new_calls_get_503_meanwhile()
    {
        await using var app = await ServerFixture.StartServerAsync(cluster.InstanceConnectionString(), cluster.Settings(TempDir()));
        var (user, runId) = await UserWithRunAsync(app, 1_000_000);
        using var client = Client(Address(app), user);

        // Every call passes the gates; their answers arrive while the database is down.
        var calls = await HeldCallsAsync(client, runId, 120);
        await cluster.StopDatabaseAsync();

        var refused = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
        var body = (await refused.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("database_unavailable", (string?)body["error"]);
        Assert.Contains("database is unavailable", (string?)body["message"]);

        cluster.Upstream.Hold.SetResult();
        var answers = await Task.WhenAll(calls);
        Assert.All(answers, x => Assert.True(x.StatusCode == HttpStatusCode.OK, $"{(int)x.StatusCode}: {x.Text}"));
        var served = answers.Length;
        var health = await new HttpClient { BaseAddress = Address(app) }.GetAsync("/api/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.InRange((int)(await health.Content.ReadFromJsonAsync<JsonObject>())!["pending_charges"]!, 1, served);

        await Task.Delay(5000);
        await cluster.StartDatabaseAsync();
        await WaitUntilAsync(() => Task.FromResult(app.Services.GetRequiredService<ChargeQueue>().Pending == 0), 30);
        await AssertLedgerMatchesMessagesAsync(user.Id, served);

        // Serving again without a restart.
        var again = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        var againText = await again.Content.ReadAsStringAsync();
        Assert.True(again.StatusCode == HttpStatusCode.OK, $"{(int)again.StatusCode}: {againText}");
        await AssertLedgerMatchesMessagesAsync(user.Id, served + 1);
    }

    /// <summary>
    /// The journal cannot write (every write and fsync fails, as on a full disk) while calls flow: they are answered and
    /// billed. Then the database goes down as well: answers can be released neither on the commit nor on the journal,
    /// so they wait; when the database is back they are answered and billed. Then the journal works again. Every
    /// answered call is billed exactly once, and /api/healthz named the failing journal meanwhile. Before, the failing
    /// journal write threw out of the charge path: answered calls went unbilled and the owner's writer died.
    /// </summary>
    [Fact]
    public async Task Calls_answered_while_the_journal_cannot_write_are_each_billed_once()
    {
        await using var app = await ServerFixture.StartServerAsync(cluster.InstanceConnectionString(), cluster.Settings(TempDir()));
        var (user, runId) = await UserWithRunAsync(app, 1_000_000);
        using var client = Client(Address(app), user);
        var journal = app.Services.GetRequiredService<ChargeJournal>();
        var full = 1;
        journal.Fault = (_, _) => Volatile.Read(ref full) == 1 ? new IOException("No space left on device") : null;
        try
        {
            var flowing = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
            {
                var response = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: i % 2 == 0));
                return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
            }));
            Assert.All(flowing, x => Assert.True(x.StatusCode == HttpStatusCode.OK && x.Text.Contains("\"cost\""), $"{(int)x.StatusCode}: {x.Text}"));

            var calls = await HeldCallsAsync(client, runId, 20);
            await cluster.StopDatabaseAsync();
            cluster.Upstream.Hold.SetResult();
            await Task.Delay(4000);
            Assert.All(calls, c => Assert.False(c.IsCompleted, "an answer whose charge is neither committed nor journaled is held"));
            await cluster.StartDatabaseAsync();
            var answers = await Task.WhenAll(calls);
            Assert.All(answers, x => Assert.True(x.StatusCode == HttpStatusCode.OK && x.Text.Contains("\"cost\""), $"{(int)x.StatusCode}: {x.Text}"));
            var during = (await new HttpClient { BaseAddress = Address(app) }.GetFromJsonAsync<JsonObject>("/api/healthz"))!;
            Assert.Contains(during["billing_errors"]!.AsArray(), e => (string?)e!["source"] == "journal" && (string?)e["error"] == "No space left on device");
        }
        finally
        {
            Volatile.Write(ref full, 0);
        }
        var again = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await again.Content.ReadAsStringAsync();
        await WaitUntilAsync(() => Task.FromResult(app.Services.GetRequiredService<ChargeQueue>().Pending == 0), 30);
        await AssertLedgerMatchesMessagesAsync(user.Id, 61);
        var healthy = (await new HttpClient { BaseAddress = Address(app) }.GetFromJsonAsync<JsonObject>("/api/healthz"))!;
        Assert.Empty(healthy["billing_errors"]!.AsArray());
    }

    [Fact]
    public async Task Charges_pending_when_the_server_is_killed_are_billed_by_the_next_start()
    {
        var dataDir = TempDir();
        await using var helper = await ServerFixture.StartServerAsync(cluster.InstanceConnectionString(), cluster.Settings(TempDir()));
        var (user, runId) = await UserWithRunAsync(helper, 1_000_000);
        var port = FreePort();
        var env = cluster.Settings(dataDir).ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value);
        env["ConnectionStrings__Default"] = cluster.ConnectionString;

        var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], env);
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        using var client = Client(baseAddress, user);
        await WaitUntilAsync(async () =>
        {
            try { return (await client.GetAsync("/api/healthz")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, 180);
        var warm = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        await warm.Content.ReadAsStringAsync();

        var calls = await HeldCallsAsync(client, runId, 40);
        await cluster.StopDatabaseAsync();
        cluster.Upstream.Hold.SetResult();
        var answers = await Task.WhenAll(calls);
        Assert.All(answers, x => Assert.True(x.StatusCode == HttpStatusCode.OK && x.Text.Contains("\"cost\""), $"{(int)x.StatusCode}: {x.Text}"));
        var served = answers.Length;

        await server.DisposeAsync(); // SIGKILL: nothing gets a chance to write anything more
        await cluster.StartDatabaseAsync();
        Assert.Equal(1, await cluster.ScalarAsync($"SELECT count(*) FROM message WHERE user_id = '{user.Id}'")); // the warm-up call

        await using var restarted = ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], env);
        await WaitUntilAsync(async () => await cluster.ScalarAsync($"SELECT count(*) FROM message WHERE user_id = '{user.Id}'") == served + 1, 180);
        await AssertLedgerMatchesMessagesAsync(user.Id, served + 1);
    }

    static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
