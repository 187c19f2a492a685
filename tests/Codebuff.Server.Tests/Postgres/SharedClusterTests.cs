using System.Diagnostics;
using System.Net.Http.Headers;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Postgres;

/// <summary>
/// The embedded cluster shared by real processes on one data directory: servers and admin commands join a running
/// cluster and leave it running, start it under a lock, and a server restarts it when it dies.
/// </summary>
public sealed class SharedClusterTests : IAsyncLifetime
{
    readonly string _dataDir = Path.Combine(Path.GetTempPath(), "cb-shared-" + Guid.NewGuid().ToString("N")[..8]);
    readonly List<ServerProcess> _processes = [];

    Dictionary<string, string?> Env => new() { ["Codebuff__DataDir"] = _dataDir };
    string PidFile => Path.Combine(_dataDir, "postgres", "postmaster.pid");

    /// <summary>One server through both events (each server start costs an initdb): an admin command beside it, then a SIGKILL.</summary>
    [Fact]
    public async Task An_admin_command_leaves_the_cluster_running_and_a_killed_postmaster_means_503_then_service_again()
    {
        var (server, http) = await StartServerAsync();
        var postmaster = PostmasterPid();

        // Requests keep flowing while the admin command joins the cluster, does its work and exits.
        using var stop = new CancellationTokenSource();
        var statuses = new List<HttpStatusCode>();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                statuses.Add((await http.GetAsync("/api/healthz")).StatusCode);
                await Task.Delay(50);
            }
        });
        var admin = await ServerProcess.RunAsync(["admin", "create-user", "--email", "parallel@example.com", "--credits", "10"], Env);
        await Task.Delay(1500); // past the supervisor's one-second check, had the cluster gone
        stop.Cancel();
        await traffic;

        Assert.True(admin.ExitCode == 0, admin.Stderr);
        Assert.NotEmpty(statuses);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(postmaster, PostmasterPid()); // the same postmaster: never stopped, never restarted
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (string)JsonNode.Parse(admin.Stdout)!["apiKey"]!);
        var me = await http.GetAsync("/api/v1/me?fields=email");
        Assert.Equal("parallel@example.com", (string?)(await me.Content.ReadFromJsonAsync<JsonObject>())!["email"]);

        Process.Start("kill", ["-KILL", postmaster.ToString()])!.WaitForExit();
        while (Directory.Exists($"/proc/{postmaster}") && !File.ReadAllText($"/proc/{postmaster}/stat").Contains(") Z")) await Task.Delay(10);

        var unavailable = 0;
        var recoveredAfter = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            var response = await http.GetAsync("/api/v1/me?fields=id");
            if (response.StatusCode == HttpStatusCode.OK) { recoveredAfter = clock.Elapsed; break; }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode); // never a 500
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal("database_unavailable", (string?)body!["error"]);
            Assert.Contains("database is unavailable", (string?)body["message"]);
            unavailable++;
            await Task.Delay(100);
        }
        Assert.True(recoveredAfter > TimeSpan.Zero, "the server did not serve again within 90 s");
        Assert.True(unavailable > 0, $"the outage was never observed (first request answered after {recoveredAfter})");
        Assert.NotEqual(postmaster, PostmasterPid());
        // PostgreSQL may accept connections before the supervisor's own restart attempt has returned (it retries a
        // start refused while the killed postmaster's backends exit): let it finish before the server is stopped.
        Assert.True(await server.WaitForOutputAsync("is serving again", TimeSpan.FromSeconds(60)), server.OutputSoFar);

        server.Interrupt();
        var result = await server.WaitAsync(120);
        Assert.Equal(0, result.ExitCode);
        Assert.Single(Lines(result.Stdout, "is not running; restarting it"));
        Assert.Single(Lines(result.Stdout, "is serving again"));
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr); // handled outage: no stack traces
        Assert.False(File.Exists(PidFile), "the server restarted the cluster, so it stops it on exit");
    }

    [Fact]
    public async Task Two_servers_started_at_once_on_an_empty_data_directory_share_one_cluster()
    {
        var starts = await Task.WhenAll(StartServerAsync(), StartServerAsync());
        Assert.Equal(1, Postmasters());

        // What one server writes, the other reads: one database.
        var admin = await ServerProcess.RunAsync(["admin", "create-user", "--email", "both@example.com"], Env);
        Assert.True(admin.ExitCode == 0, admin.Stderr);
        foreach (var (_, http) in starts)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me?fields=email");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (string)JsonNode.Parse(admin.Stdout)!["apiKey"]!);
            var me = await http.SendAsync(request);
            Assert.Equal("both@example.com", (string?)(await me.Content.ReadFromJsonAsync<JsonObject>())!["email"]);
        }

        foreach (var (server, _) in starts) server.Interrupt();
        foreach (var (server, _) in starts) Assert.Equal(0, (await server.WaitAsync(120)).ExitCode);
        Assert.False(File.Exists(PidFile), "the server that started the cluster stops it");
    }

    async Task<(ServerProcess, HttpClient)> StartServerAsync(Dictionary<string, string?>? extra = null)
    {
        var port = ServerProcess.FreePort();
        var env = Env;
        foreach (var (k, v) in extra ?? []) env[k] = v;
        var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], env);
        lock (_processes) _processes.Add(server);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        for (var i = 0; i < 720; i++) // up to three minutes: child processes start slowly on a loaded machine
        {
            try
            {
                if ((await http.GetAsync("/api/healthz")).IsSuccessStatusCode) return (server, http);
            }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        var failed = await server.WaitAsync(5);
        throw new Xunit.Sdk.XunitException($"server did not become healthy: {failed.Stderr}");
    }

    int PostmasterPid() => int.Parse(File.ReadLines(PidFile).First());

    /// <summary>Live postmasters of this data directory: processes started as "postgres -D &lt;dir&gt;".</summary>
    int Postmasters() => Directory.GetDirectories("/proc").Count(d =>
    {
        try { return File.ReadAllText(Path.Combine(d, "cmdline")).Split('\0').SkipWhile(a => a != "-D").Skip(1).FirstOrDefault() == Path.Combine(_dataDir, "postgres"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    });

    static IEnumerable<string> Lines(string text, string fragment) => text.Split('\n').Where(l => l.Contains(fragment));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Interrupt();
            try { await p.WaitAsync(30); } catch (OperationCanceledException) { }
            await p.DisposeAsync();
        }
        // A test that failed half-way must not leave PostgreSQL running.
        if (File.Exists(PidFile) && int.TryParse(File.ReadLines(PidFile).FirstOrDefault(), out var pid))
            Process.Start("kill", ["-TERM", pid.ToString()])!.WaitForExit();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
