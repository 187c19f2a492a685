using System.Diagnostics;
using System.Net.Sockets;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Postgres;

/// <summary>The server with no connection string: its own cluster under DataDir, started, reused and stopped.</summary>
public sealed class EmbeddedDatabaseTests : IDisposable
{
    readonly string _dataDir = Path.Combine(Path.GetTempPath(), "cb-embedded-" + Guid.NewGuid().ToString("N")[..8]);

    Dictionary<string, string?> Env => new() { ["Codebuff__DataDir"] = _dataDir };
    string PidFile => Path.Combine(_dataDir, "postgres", "postmaster.pid");

    [Fact]
    public async Task Data_survives_restarts_and_each_command_stops_its_cluster()
    {
        var first = await ServerProcess.RunAsync(["admin", "create-user", "--email", "keep@example.com"], Env);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.True(File.Exists(Path.Combine(_dataDir, "postgres", "PG_VERSION")));
        Assert.False(File.Exists(PidFile), "the cluster must be stopped when the command ends");

        // A second process finds the same data: the e-mail is taken.
        var second = await ServerProcess.RunAsync(["admin", "create-user", "--email", "keep@example.com"], Env);
        Assert.Equal(2, second.ExitCode);
        Assert.Contains("already exists", second.Stderr);
    }

    [Fact]
    public async Task A_stale_postmaster_pid_from_a_crash_is_handled()
    {
        Assert.Equal(0, (await ServerProcess.RunAsync(["migrate"], Env)).ExitCode);
        // What a crash leaves behind: a lock file naming a process that no longer exists.
        var owner = new FileInfo(Path.Combine(_dataDir, "postgres", "PG_VERSION"));
        await File.WriteAllLinesAsync(PidFile, ["999999", Path.Combine(_dataDir, "postgres"), "1700000000", "5999", "", "127.0.0.1", "  5432001  0", "ready"]);
        if (Environment.UserName == "root") Process.Start("chown", ["postgres:postgres", PidFile])!.WaitForExit();

        var run = await ServerProcess.RunAsync(["migrate"], Env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("migrations applied", run.Stdout);
        Assert.True(owner.Exists);
    }

    [Fact]
    public async Task Serves_on_the_embedded_database_and_ctrl_c_stops_the_cluster_cleanly()
    {
        var port = FreePort();
        await using var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], Env);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        JsonObject? health = null;
        for (var i = 0; i < 360 && health is null; i++) // up to three minutes on a loaded machine
        {
            try { health = await http.GetFromJsonAsync<JsonObject>("/api/healthz"); }
            catch (HttpRequestException) { await Task.Delay(500); }
        }
        Assert.Equal("ok", (string?)health?["status"]);
        Assert.True(File.Exists(PidFile));

        server.Interrupt();
        var result = await server.WaitAsync();
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.False(File.Exists(PidFile), "Ctrl-C must stop PostgreSQL too");
    }

    [Fact]
    public async Task Missing_postgres_binaries_say_how_to_install_them()
    {
        var env = Env;
        env["Codebuff__PostgresBinDir"] = Path.Combine(_dataDir, "no-such-bin");
        var run = await ServerProcess.RunAsync(["migrate"], env);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("apt-get install -y postgresql", run.Stderr);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_data_directory_owned_by_another_user_is_refused_with_one_line()
    {
        Assert.Equal(0, (await ServerProcess.RunAsync(["migrate"], Env)).ExitCode);
        // Hand the cluster to a user the server does not run PostgreSQL as.
        var other = Environment.UserName == "root" ? "nobody" : "root";
        var chown = Environment.UserName == "root" ? Process.Start("chown", ["-R", other, Path.Combine(_dataDir, "postgres")]) : null;
        chown?.WaitForExit();
        if (chown is null) return; // only root can give files away; CI runs as root

        var run = await ServerProcess.RunAsync(["migrate"], Env);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"is owned by '{other}', but must be owned by 'postgres'", run.Stderr);
        Process.Start("chown", ["-R", "postgres", Path.Combine(_dataDir, "postgres")])!.WaitForExit();
    }

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
