namespace Codebuff.Server.Auth;

/// <summary>
/// Holds this instance's one <c>LISTEN caller_changed</c> connection: triggers on <c>"user"</c> and <c>session</c>
/// (migration CallerChangedNotify) announce the user id of every update or delete, on commit, to every instance, and
/// each announcement evicts that user from the <see cref="CallerCache"/>. When the connection drops (database
/// restart, network cut) the cache is cleared and bypassed until the connection listens again.
/// </summary>
public sealed class CallerChanges(CallerCache cache, string connectionString, ILogger<CallerChanges> log) : BackgroundService
{
    public const string Channel = "caller_changed";

    // Named: unnamed, its metrics would be labelled with the connection string.
    readonly NpgsqlDataSource _source = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(connectionString)
    {
        // Its own connection, outside the pools; keepalives make a silently dead connection fail its wait.
        Pooling = false, KeepAlive = 5, ApplicationName = "codebuff-caller-changes",
    }.ConnectionString)
    { Name = "codebuff-caller-changes" }.Build();

    public override void Dispose()
    {
        base.Dispose();
        _source.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var conn = _source.CreateConnection();
                conn.Notification += (_, e) => cache.Evict(e.Payload);
                await conn.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", conn)) await listen.ExecuteNonQueryAsync(stoppingToken);
                cache.SetListening(true);
                if (failures > 0) log.LogInformation("listening for caller changes again; the caller cache is back in use");
                failures = 0;
                while (true) await conn.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                cache.SetListening(false);
                if (failures++ == 0) log.LogWarning("lost the caller-changes connection ({Error}); the caller cache is off until it is back", e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(failures, 6)))), stoppingToken)
                    .ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        cache.SetListening(false);
    }
}
