using System.Diagnostics;

namespace Codebuff.Server.Postgres;

/// <summary>
/// Watches the embedded cluster while the server runs: when PostgreSQL dies under it (killed, crashed, stopped by
/// another process) it is started again on the same port. Meanwhile requests that need the database answer 503
/// (<see cref="DatabaseUnavailableHandler"/>); afterwards the pools are cleared so no request gets a dead connection.
/// </summary>
sealed class PostgresSupervisor(EmbeddedPostgres pg, ILogger<PostgresSupervisor> log) : BackgroundService
{
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (pg.IsRunning()) continue;
            var down = Stopwatch.StartNew();
            log.LogWarning("The embedded PostgreSQL (port {Port}) is not running; restarting it. Requests answer 503 until it is back.", pg.Port);
            // Keep trying quietly: one warning for the outage, one line when it ends (and the first failure, if any).
            for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
            {
                try
                {
                    var startedHere = await pg.RestartAsync(stoppingToken);
                    NpgsqlConnection.ClearAllPools();
                    log.LogWarning("The embedded PostgreSQL is serving again after {Seconds:0.0} s ({How}).",
                        down.Elapsed.TotalSeconds, startedHere ? "restarted by this server" : "started by another process");
                    break;
                }
                catch (StartupException e)
                {
                    if (attempt == 1) log.LogError("Restarting the embedded PostgreSQL failed, retrying every 2 s: {Message}", e.Message);
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
                }
            }
        }
    }
}
