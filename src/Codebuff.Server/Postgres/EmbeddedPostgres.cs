using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Codebuff.Server.Postgres;

/// <summary>
/// A private PostgreSQL cluster driven by the system's initdb/pg_ctl. Used by the server when no connection string
/// is configured and by the tests (one throwaway cluster per run). As root, the binaries run as the "postgres" user,
/// because PostgreSQL refuses to run as root.
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    const string Database = "codebuff";
    readonly string _binDir;
    readonly string _rootDir;
    readonly string _dataDir;
    readonly bool _asPostgresUser;
    bool _stopped;

    public string ConnectionString { get; }
    public int Port { get; }

    EmbeddedPostgres(string binDir, string rootDir, string dataDir, bool asPostgresUser, int port, string password)
    {
        _binDir = binDir;
        _rootDir = rootDir;
        _dataDir = dataDir;
        _asPostgresUser = asPostgresUser;
        Port = port;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "postgres", Password = password, Database = Database,
            MaxPoolSize = 200,
        }.ConnectionString;
    }

    /// <param name="rootDir">Holds the cluster in <c>rootDir/postgres</c> and its password in <c>rootDir/postgres.password</c>.</param>
    /// <param name="durable">False for throwaway test clusters: no fsync, which makes them several times faster.</param>
    /// <param name="binDir">Where initdb and pg_ctl live; found automatically when null.</param>
    public static async Task<EmbeddedPostgres> StartAsync(string rootDir, bool durable = true, string? binDir = null, CancellationToken ct = default)
    {
        if (binDir is not null && !HasTools(binDir))
            throw new StartupException($"Codebuff:PostgresBinDir ({binDir}) does not contain initdb and pg_ctl. " +
                                       "Install PostgreSQL (Debian/Ubuntu: sudo apt-get install -y postgresql) or fix the setting.");
        binDir ??= FindBinDir() ?? throw new StartupException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH, via pg_config or in /usr/lib/postgresql/*/bin. " +
            "Install them (Debian/Ubuntu: sudo apt-get install -y postgresql) or set ConnectionStrings__Default to an existing database.");
        var asPostgres = Environment.UserName == "root";
        rootDir = Path.GetFullPath(rootDir);
        var dataDir = Path.Combine(rootDir, "postgres");
        var passwordFile = Path.Combine(rootDir, "postgres.password");
        PrivateFiles.CreateDataDirectory(rootDir, forPostgresUser: asPostgres);

        using var _ = await ClusterLock.AcquireAsync(rootDir, ct);
        if (!File.Exists(Path.Combine(dataDir, "PG_VERSION")))
            await InitAsync(binDir, dataDir, passwordFile, asPostgres, durable, ct);
        else
            await CheckOwnerAsync(dataDir, asPostgres, ct);

        var password = (await File.ReadAllTextAsync(passwordFile, ct)).Trim();
        var (port, started) = await EnsureRunningAsync(binDir, dataDir, asPostgres, PreviousPort(dataDir), ct);
        var pg = new EmbeddedPostgres(binDir, rootDir, dataDir, asPostgres, port, password) { StartedHere = started };
        await pg.CreateDatabaseAsync(ct);
        return pg;
    }

    /// <summary>True when this process ran <c>pg_ctl start</c> (at start or in a restart): only then does it stop the cluster.</summary>
    public bool StartedHere { get; private set; }

    /// <summary>Whether the postmaster named in <c>postmaster.pid</c> is alive (a SIGKILLed one leaves its pid file behind).</summary>
    public bool IsRunning() => RunningPostmaster(_dataDir) is not null;

    /// <summary>
    /// Starts the cluster again on the same port (the connection string stays valid) unless another process already
    /// did. Called by <see cref="PostgresSupervisor"/> after PostgreSQL died under the server.
    /// </summary>
    /// <returns>True when this call started it.</returns>
    public async Task<bool> RestartAsync(CancellationToken ct)
    {
        using var _ = await ClusterLock.AcquireAsync(_rootDir, ct);
        var (port, started) = await EnsureRunningAsync(_binDir, _dataDir, _asPostgresUser, Port, ct);
        if (port != Port)
            throw new StartupException($"PostgreSQL for {_dataDir} now runs on port {port} instead of {Port}; restart the server.");
        StartedHere |= started;
        return started;
    }

    static async Task InitAsync(string binDir, string dataDir, string passwordFile, bool asPostgres, bool durable, CancellationToken ct)
    {
        if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true); // a half-finished earlier initdb
        Directory.CreateDirectory(dataDir);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        File.Delete(passwordFile);
        PrivateFiles.WriteNew(passwordFile, password);

        // initdb reads the superuser password from a file it can open; hand it a private copy inside the data dir.
        var pwCopy = Path.Combine(Path.GetDirectoryName(dataDir)!, $".pw-{Guid.NewGuid():N}");
        PrivateFiles.WriteNew(pwCopy, password);
        try
        {
            if (asPostgres)
            {
                await RunAsync("chown", ["postgres:postgres", dataDir, pwCopy], ct);
            }
            var (code, output) = await RunPgAsync(binDir, "initdb", asPostgres,
                ["-D", dataDir, "-U", "postgres", "--auth=scram-sha-256", $"--pwfile={pwCopy}", "-E", "UTF8", "--locale=C", .. (durable ? Array.Empty<string>() : ["--no-sync"])], ct);
            if (code != 0) throw new StartupException($"initdb failed for {dataDir}: {LastLine(output)}");
        }
        finally
        {
            File.Delete(pwCopy);
        }

        var settings = new List<string>
        {
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 300",
        };
        if (!durable) settings.AddRange(["fsync = off", "synchronous_commit = off", "full_page_writes = off"]);
        await File.AppendAllLinesAsync(Path.Combine(dataDir, "postgresql.conf"), settings, ct);
    }

    static async Task CheckOwnerAsync(string dataDir, bool asPostgres, CancellationToken ct)
    {
        var (_, owner) = await RunAsync("stat", ["-c", "%U", dataDir], ct);
        var expected = asPostgres ? "postgres" : Environment.UserName;
        if (owner.Trim() != expected)
            throw new StartupException($"The data directory {dataDir} is owned by '{owner.Trim()}', but must be owned by '{expected}'. " +
                                       "Fix its ownership or point Codebuff:DataDir elsewhere.");
    }

    /// <summary>
    /// Starts the cluster unless one is already serving this data dir (another server's, an admin command's, or one
    /// left over from a crash) and returns its port and whether this call started it. The caller holds the cluster lock.
    /// </summary>
    static async Task<(int Port, bool Started)> EnsureRunningAsync(string binDir, string dataDir, bool asPostgres, int? preferredPort, CancellationToken ct)
    {
        var pidFile = Path.Combine(dataDir, "postmaster.pid");
        if (RunningPostmaster(dataDir) is { } runningPort) return (runningPort, false);
        if (File.Exists(pidFile)) File.Delete(pidFile); // stale: the postmaster it names is gone

        var port = preferredPort is { } p && IsFree(p) ? p : FreePort();
        var log = Path.Combine(dataDir, "server.log");
        // A killed postmaster's backends may hold its shared memory for a moment: PostgreSQL refuses to start until
        // they have exited, so a failed start is retried for a while.
        for (var attempt = 1; ; attempt++)
        {
            var (code, output) = await RunPgAsync(binDir, "pg_ctl", asPostgres,
                ["start", "-D", dataDir, "-w", "-t", "60", "-l", log, "-o", $"-p {port}"], ct);
            if (code == 0) return (port, true);
            if (attempt == 5)
            {
                var tail = File.Exists(log) ? string.Join(" | ", File.ReadLines(log).TakeLast(3)) : output;
                throw new StartupException($"PostgreSQL did not start from {dataDir}: {LastLine(tail)}");
            }
            if (await RunningWithinAsync(dataDir, TimeSpan.FromSeconds(attempt), ct) is { } startedElsewhere) return (startedElsewhere, false);
            if (File.Exists(pidFile) && RunningPostmaster(dataDir) is null) File.Delete(pidFile);
        }
    }

    /// <summary>
    /// Waits out the pause before another <c>pg_ctl start</c>, watching for a live postmaster: PostgreSQL may be running
    /// again by then (started by a process that does not take the cluster lock, or one that outlived pg_ctl's wait), and
    /// another start would only be refused until the attempts run out. Returns its port, or null after the pause.
    /// </summary>
    static async Task<int?> RunningWithinAsync(string dataDir, TimeSpan pause, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (RunningPostmaster(dataDir) is { } port) return port;
            var left = pause - waited.Elapsed;
            if (left <= TimeSpan.Zero) return null;
            await Task.Delay(left < PollInterval ? left : PollInterval, ct);
        }
    }

    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The port of the live postmaster of this data dir, or null. Checked through /proc rather than pg_ctl status:
    /// a killed postmaster that nobody reaped is a zombie, which kill(pid, 0) still reports as alive.
    /// </summary>
    static int? RunningPostmaster(string dataDir)
    {
        string[] lines;
        try { lines = File.ReadAllLines(Path.Combine(dataDir, "postmaster.pid")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; } // absent (stopped cleanly) or being rewritten
        if (lines.Length < 4 || !int.TryParse(lines[0], out var pid) || !int.TryParse(lines[3], out var port)) return null;
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        // "<pid> (<comm>) <state> …": the pid must still be a postgres process and not a zombie (Z) or dead (X).
        var close = stat.LastIndexOf(')');
        var comm = stat[(stat.IndexOf('(') + 1)..close];
        var state = stat[(close + 2)..].FirstOrDefault();
        return comm.StartsWith("postgres", StringComparison.Ordinal) && state is not ('Z' or 'X') ? port : null;
    }

    /// <summary>The port of the cluster's last run (postmaster.opts keeps its command line), so restarts keep their address.</summary>
    static int? PreviousPort(string dataDir)
    {
        var opts = Path.Combine(dataDir, "postmaster.opts");
        if (!File.Exists(opts)) return null;
        var m = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(opts), @"""-p"" ""(\d+)""");
        return m.Success && int.TryParse(m.Groups[1].Value, out var port) ? port : null;
    }

    async Task CreateDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false };
        // Named: unnamed, its pool metrics would be labelled with the connection string (README "Telemetry").
        await using var source = new NpgsqlDataSourceBuilder(admin.ConnectionString) { Name = "codebuff-admin" }.Build();
        await using var conn = source.CreateConnection();
        await conn.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @n", conn);
        exists.Parameters.AddWithValue("n", Database);
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{Database}\"", conn);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>
    /// Stops the cluster (fast shutdown: open transactions roll back, data is flushed) if this process started it;
    /// a cluster that was already running when this process came (another server's) is left running.
    /// </summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        NpgsqlConnection.ClearAllPools();
        if (!StartedHere) return;
        using var _ = await ClusterLock.AcquireAsync(_rootDir, CancellationToken.None);
        await RunPgAsync(_binDir, "pg_ctl", _asPostgresUser, ["stop", "-D", _dataDir, "-m", "fast", "-w"], CancellationToken.None);
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    static bool HasTools(string dir) => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));

    internal static string? FindBinDir()
    {
        try
        {
            var psi = new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi);
            var dir = p?.StandardOutput.ReadToEnd().Trim();
            p?.WaitForExit();
            if (!string.IsNullOrEmpty(dir) && HasTools(dir)) return dir;
        }
        catch (System.ComponentModel.Win32Exception) { /* no pg_config */ }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!HasTools(dir)) continue;
            // Debian links initdb into PATH; resolve the link so that pg_ctl finds its sibling postgres binary.
            var target = new FileInfo(Path.Combine(dir, "initdb")).ResolveLinkTarget(returnFinalTarget: true);
            return target is null ? dir : Path.GetDirectoryName(target.FullName)!;
        }

        const string debian = "/usr/lib/postgresql";
        return Directory.Exists(debian)
            ? Directory.GetDirectories(debian).Select(d => Path.Combine(d, "bin")).Where(HasTools)
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
    }

    static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    static Task<(int, string)> RunPgAsync(string binDir, string tool, bool asPostgres, string[] args, CancellationToken ct) =>
        asPostgres
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(binDir, tool), .. args], ct)
            : RunAsync(Path.Combine(binDir, tool), args, ct);

    static async Task<(int, string)> RunAsync(string file, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new StartupException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        return (p.ExitCode, await stdout + await stderr);
    }

    static string LastLine(string s) =>
        s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";
}
