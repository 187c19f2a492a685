using Codebuff.Server.Tests.Infrastructure;
using Npgsql;

namespace Codebuff.Server.Tests.ScaleOut;

/// <summary>Startup of several real server processes on one database, each with its own data directory.</summary>
public sealed class ScaleOutStartupTests : IAsyncLifetime
{
    readonly List<string> _dataDirs = [];
    readonly List<ServerProcess> _processes = [];

    Dictionary<string, string?> Env(string connectionString, params (string Key, string Value)[] extra)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "cb-scale-" + Guid.NewGuid().ToString("N")[..8]);
        _dataDirs.Add(dataDir);
        var env = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = connectionString,
            ["Codebuff__DataDir"] = dataDir,
            ["Logging__LogLevel__Microsoft.EntityFrameworkCore.Migrations"] = "Information",
        };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    [Fact]
    public async Task Three_instances_started_at_once_on_an_empty_database_migrate_once_and_serve_and_one_with_other_secrets_refuses_to_start()
    {
        var database = await TestCluster.CreateEmptyDatabaseAsync();
        var ports = Enumerable.Range(0, 3).Select(_ => ServerProcess.FreePort()).ToList();
        var servers = ports.Select(port => ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], Env(database))).ToList();
        _processes.AddRange(servers);
        // One deadline for all three: each JIT-compiles the whole server, and they take turns migrating and seeding (minutes
        // when the machine is shared with other builds, seconds otherwise).
        var deadline = DateTime.UtcNow.AddMinutes(8);
        for (var i = 0; i < 3; i++) await WaitHealthyAsync(ports[i], servers[i], deadline);

        // Everything an instance needs was done once: one set of migrations, one copy of each built-in agent.
        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("""
                SELECT (SELECT count(*) FROM "__EFMigrationsHistory"), (SELECT count(*) FROM agent_config),
                       (SELECT count(DISTINCT id) FROM agent_config), (SELECT count(*) FROM service.secret_fingerprint)
                """, conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.True(reader.GetInt64(0) >= 2);
            Assert.True(reader.GetInt64(1) > 0);
            Assert.Equal(reader.GetInt64(1), reader.GetInt64(2));
            Assert.Equal(2, reader.GetInt64(3));
        }

        // A fourth instance whose auth secret differs exits with one sentence naming what to copy; so does one whose
        // BYOK key differs. Neither value appears in the database or the message.
        var otherSecret = await ServerProcess.RunAsync(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}"], Env(database, ("Codebuff__AuthSecret", "another-secret")));
        Assert.Equal(1, otherSecret.ExitCode);
        Assert.Equal("error: Codebuff:AuthSecret differs from the value this database was first used with: copy Codebuff:AuthSecret "
            + "(or auth.secret in its DataDir) from an instance already serving this database to this one.",
            Assert.Single(otherSecret.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        var otherKey = await ServerProcess.RunAsync(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}"], Env(database, ("Codebuff__Byok__MasterKey", "another-key")));
        Assert.Equal(1, otherKey.ExitCode);
        Assert.Contains("Codebuff:Byok:MasterKey differs", otherKey.Stderr);
        Assert.DoesNotContain("another-key", otherKey.Stderr);
        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT string_agg(fingerprint, ',') FROM service.secret_fingerprint", conn);
            var fingerprints = (string)(await cmd.ExecuteScalarAsync())!;
            Assert.DoesNotContain("test-auth-secret", fingerprints);
            Assert.DoesNotContain("test-byok-master-key", fingerprints);
        }

        // Stopped with Ctrl-C, their logs show the migrations applied by exactly one of them.
        foreach (var s in servers) s.Interrupt();
        var logs = await Task.WhenAll(servers.Select(s => s.WaitAsync(60)));
        Assert.Equal(1, logs.Count(l => l.Stdout.Contains("Applying migration '20261125070847_InitialSchema'")));
    }

    static async Task WaitHealthyAsync(int port, ServerProcess server, DateTime deadline)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await http.GetAsync("/api/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        server.Interrupt();
        var output = await server.WaitAsync(30);
        Assert.Fail($"the instance on port {port} never became healthy: {output.Stderr} {output.Stdout}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var p in _processes) await p.DisposeAsync();
        foreach (var dir in _dataDirs.Where(Directory.Exists)) Directory.Delete(dir, recursive: true);
    }
}
