using System.Diagnostics;

namespace Codebuff.Server.Postgres;

/// <summary>
/// An exclusive lock on <c>DataDir/postgres.lock</c>, held while a process initialises, starts, restarts or stops the
/// embedded cluster, so two processes starting at once do not both run initdb or pg_ctl start. It is an OS file lock
/// (flock), so a process that dies releases it.
/// </summary>
sealed class ClusterLock : IDisposable
{
    readonly FileStream _file;

    ClusterLock(FileStream file) => _file = file;

    public static async Task<ClusterLock> AcquireAsync(string rootDir, CancellationToken ct)
    {
        var path = Path.Combine(rootDir, "postgres.lock");
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Unix; a holder makes the open fail with IOException.
                return new ClusterLock(PrivateFiles.Open(path, FileMode.OpenOrCreate));
            }
            catch (IOException) when (Stopwatch.GetElapsedTime(started) < TimeSpan.FromMinutes(2))
            {
                await Task.Delay(100, ct);
            }
            catch (IOException)
            {
                throw new StartupException($"Another process has held {path} for two minutes while starting PostgreSQL; is it stuck?");
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
