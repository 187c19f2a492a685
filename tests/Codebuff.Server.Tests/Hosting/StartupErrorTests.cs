using System.Net.Sockets;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Hosting;

public sealed class StartupErrorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task An_unreachable_configured_database_is_one_line_and_exit_1()
    {
        var run = await ServerProcess.RunAsync(["migrate"], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = $"Host=127.0.0.1;Port={ClosedPort()};Username=x;Password=secret-pw;Database=x;Timeout=3",
        });
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: cannot reach the database", line);
        Assert.DoesNotContain("secret-pw", run.Stderr);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_1()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var run = await ServerProcess.RunAsync(["--urls", $"http://127.0.0.1:{port}"], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = server.ConnectionString,
        });
        Assert.Equal(1, run.ExitCode);
        var errors = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:")).ToList();
        Assert.Contains("address already in use", Assert.Single(errors));
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task Configured_connection_string_is_used_and_no_cluster_is_started()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "cb-unused-" + Guid.NewGuid().ToString("N")[..8]);
        var run = await ServerProcess.RunAsync(["admin", "create-user", "--email", $"cs{Guid.NewGuid():N}@example.com"], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = server.ConnectionString,
            ["Codebuff__DataDir"] = dataDir,
        });
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dataDir, "postgres")));
        await using var db = server.NewDbContext();
        Assert.Contains(db.Users, u => u.Id == (string)JsonNode.Parse(run.Stdout)!["userId"]!);
    }

    [Fact]
    public async Task Health_is_503_with_a_reason_when_the_database_does_not_answer()
    {
        await using var app = await ServerFixture.StartServerAsync($"Host=127.0.0.1;Port={ClosedPort()};Username=x;Password=x;Database=x;Timeout=2",
            new Dictionary<string, string?> { ["Codebuff:AuthSecret"] = "x", ["Logging:LogLevel:Default"] = "Error" });
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var response = await http.GetAsync("/api/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("error", (string?)body!["status"]);
        Assert.StartsWith("database unreachable", (string?)body["error"]);
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);

        // Every other route that needs the database: the same 503, never a 500.
        foreach (var (method, path) in new[] { ("GET", "/api/v1/me"), ("POST", "/api/v1/agent-runs"), ("GET", "/api/user/usage") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("""{"action":"START","agentId":"a"}""") : null };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "cb-pat-whatever");
            var down = await http.SendAsync(request);
            Assert.True(down.StatusCode == HttpStatusCode.ServiceUnavailable, $"{path}: {down.StatusCode} {await down.Content.ReadAsStringAsync()}");
            Assert.Equal(TimeSpan.FromSeconds(5), down.Headers.RetryAfter?.Delta);
            Assert.Equal("""{"error":"database_unavailable","message":"The database is unavailable right now. Try again in 5 seconds."}""",
                await down.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Health_is_ok_with_the_agent_count_and_a_js_timestamp()
    {
        var body = await server.Client.GetFromJsonAsync<JsonObject>("/api/healthz");
        Assert.Equal("ok", (string?)body!["status"]);
        Assert.NotNull(body["cached_agents"]?.GetValue<int>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string?)body["timestamp"]);
    }

    static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port; // closed again when disposed
    }
}
