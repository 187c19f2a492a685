using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace Codebuff.Server.Hosting;

/// <summary>A problem the operator can fix; its message is printed as one line, without a stack trace.</summary>
public sealed class StartupException(string message) : Exception(message);

/// <summary>
/// A private PostgreSQL cluster driven by the system's initdb/pg_ctl. Used by the server when no connection string
/// is configured and by the tests (one throwaway cluster per run). As root, the binaries run as the "postgres" user,
/// because PostgreSQL refuses to run as root.
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    const string Database = "codebuff";
    readonly string _binDir;
    readonly string _dataDir;
    readonly bool _asPostgresUser;
    bool _stopped;

    public string ConnectionString { get; }
    public int Port { get; }

    EmbeddedPostgres(string binDir, string dataDir, bool asPostgresUser, int port, string password)
    {
        _binDir = binDir;
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
        Directory.CreateDirectory(rootDir);

        if (!File.Exists(Path.Combine(dataDir, "PG_VERSION")))
            await InitAsync(binDir, dataDir, passwordFile, asPostgres, durable, ct);
        else
            await CheckOwnerAsync(dataDir, asPostgres, ct);

        var password = (await File.ReadAllTextAsync(passwordFile, ct)).Trim();
        var port = await EnsureRunningAsync(binDir, dataDir, asPostgres, ct);
        var pg = new EmbeddedPostgres(binDir, dataDir, asPostgres, port, password);
        await pg.CreateDatabaseAsync(ct);
        return pg;
    }

    static async Task InitAsync(string binDir, string dataDir, string passwordFile, bool asPostgres, bool durable, CancellationToken ct)
    {
        if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true); // a half-finished earlier initdb
        Directory.CreateDirectory(dataDir);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        await File.WriteAllTextAsync(passwordFile, password, ct);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        // initdb reads the superuser password from a file it can open; hand it a private copy inside the data dir.
        var pwCopy = Path.Combine(Path.GetDirectoryName(dataDir)!, $".pw-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(pwCopy, password, ct);
        try
        {
            if (asPostgres)
            {
                await RunAsync("chown", ["postgres:postgres", dataDir, pwCopy], ct);
            }
            File.SetUnixFileMode(pwCopy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
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

    /// <summary>Starts the cluster unless one is already serving this data dir (left over from a crash) and returns its port.</summary>
    static async Task<int> EnsureRunningAsync(string binDir, string dataDir, bool asPostgres, CancellationToken ct)
    {
        var pidFile = Path.Combine(dataDir, "postmaster.pid");
        if (File.Exists(pidFile))
        {
            var (status, _) = await RunPgAsync(binDir, "pg_ctl", asPostgres, ["status", "-D", dataDir], ct);
            if (status == 0 && int.TryParse(File.ReadLines(pidFile).Skip(3).FirstOrDefault(), out var runningPort))
                return runningPort;
            File.Delete(pidFile); // stale: the postmaster it names is gone
        }

        var port = FreePort();
        var log = Path.Combine(dataDir, "server.log");
        var (code, output) = await RunPgAsync(binDir, "pg_ctl", asPostgres,
            ["start", "-D", dataDir, "-w", "-t", "60", "-l", log, "-o", $"-p {port}"], ct);
        if (code != 0)
        {
            var tail = File.Exists(log) ? string.Join(" | ", File.ReadLines(log).TakeLast(3)) : output;
            throw new StartupException($"PostgreSQL did not start from {dataDir}: {LastLine(tail)}");
        }
        return port;
    }

    async Task CreateDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false };
        await using var conn = new NpgsqlConnection(admin.ConnectionString);
        await conn.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @n", conn);
        exists.Parameters.AddWithValue("n", Database);
        if (await exists.ExecuteScalarAsync(ct) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{Database}\"", conn);
            await create.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Stops the cluster (fast shutdown: open transactions roll back, data is flushed).</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        NpgsqlConnection.ClearAllPools();
        await RunPgAsync(_binDir, "pg_ctl", _asPostgresUser, ["stop", "-D", _dataDir, "-m", "fast", "-w"], CancellationToken.None);
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    static bool HasTools(string dir) => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));

    static string? FindBinDir()
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
