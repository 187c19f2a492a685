using System.Diagnostics;
using Codebuff.Server.Hosting;
using Npgsql;

namespace Codebuff.Server.Tests.Postgres;

/// <summary>
/// The supervisor's restart of a killed postmaster (<see cref="EmbeddedPostgres.RestartAsync"/>) on a cluster of its
/// own: when PostgreSQL is running again before the next <c>pg_ctl start</c>, the restart stops retrying and joins it.
/// </summary>
public sealed class PostgresRestartTests : IAsyncLifetime
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "cb-restart-" + Guid.NewGuid().ToString("N")[..8]);
    EmbeddedPostgres? _pg;

    string DataDir => Path.Combine(_root, "postgres");
    string PidFile => Path.Combine(DataDir, "postmaster.pid");

    [Fact]
    public async Task A_refused_restart_stops_retrying_once_postgres_was_started_by_another_process()
    {
        var pg = _pg!;
        var killed = int.Parse(File.ReadLines(PidFile).First());
        Process.Start("kill", ["-KILL", killed.ToString()])!.WaitForExit();
        while (pg.IsRunning()) await Task.Delay(20);
        // Every `pg_ctl start` of the restart fails from here on: its log file cannot be opened.
        File.Delete(Path.Combine(DataDir, "server.log"));
        Directory.CreateDirectory(Path.Combine(DataDir, "server.log"));

        var clock = Stopwatch.StartNew();
        var restart = pg.RestartAsync(CancellationToken.None);
        // The restart removes the killed postmaster's pid file just before its first start; an operator then starts
        // the cluster by hand (with a log it can write), while the restart is between its refused attempts.
        while (File.Exists(PidFile) && !restart.IsCompleted) await Task.Delay(10);
        // (Refused, like the restart's own attempts, until the killed postmaster's children have let go of its memory.)
        var (code, output) = (-1, "");
        for (var attempt = 0; attempt < 60 && code != 0; attempt++)
        {
            if (attempt > 0) await Task.Delay(500);
            (code, output) = await PgCtlAsync("start", "-D", DataDir, "-w", "-t", "120", "-l", Path.Combine(DataDir, "by-hand.log"), "-o", $"-p {pg.Port}");
        }
        Assert.True(code == 0, output);
        var byHand = int.Parse(File.ReadLines(PidFile).First());

        // Before: four more refused starts (1 + 2 + 3 + 4 s of pauses), then a StartupException.
        Assert.False(await restart, "the running cluster was started by the other process, not by this restart");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"restart took {clock.Elapsed}");
        Assert.NotEqual(killed, byHand);
        Assert.Equal(byHand, int.Parse(File.ReadLines(PidFile).First()));
        Assert.True(pg.IsRunning());
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(pg.ConnectionString);
        await conn.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT pg_postmaster_start_time() IS NOT NULL", conn);
        Assert.Equal(true, await query.ExecuteScalarAsync());
    }

    static Task<(int Code, string Output)> PgCtlAsync(params string[] args)
    {
        var pgCtl = Path.Combine(EmbeddedPostgres.FindBinDir()!, "pg_ctl");
        return RunAsync(Environment.UserName == "root" ? ["runuser", "-u", "postgres", "--", pgCtl, .. args] : [pgCtl, .. args]);
    }

    static async Task<(int, string)> RunAsync(string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var a in command[1..]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        if (Environment.UserName == "root") File.SetUnixFileMode(_root, (UnixFileMode)0b111_101_101);
        _pg = await EmbeddedPostgres.StartAsync(_root, durable: false);
    }

    public async Task DisposeAsync()
    {
        // Stop whatever runs now (the hand-started postmaster is not this EmbeddedPostgres's to stop).
        if (File.Exists(PidFile)) await PgCtlAsync("stop", "-D", DataDir, "-m", "immediate", "-w");
        if (_pg is not null) await _pg.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
