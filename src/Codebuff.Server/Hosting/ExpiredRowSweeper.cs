namespace Codebuff.Server.Hosting;

/// <summary>
/// Once a minute, on every instance (the deletes are idempotent, so several sweepers do no harm): CLI login tokens
/// whose window has passed, expired credit holds, rate-limit rows nobody has touched lately, and trace steps past their retention. A database that does not answer is skipped
/// until the next round.
/// </summary>
public sealed class ExpiredRowSweeper(IServiceScopeFactory scopes, CliTokenVault vault, SharedRateLimits limits, TimeProvider clock,
    IOptions<AgentRuns.TraceOptions> traces, ILogger<ExpiredRowSweeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        try
        {
            await SweepEveryTickAsync(timer, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping (or disposed without a stop, as tests and benchmarks do): nothing left to sweep.
        }
    }

    async Task SweepEveryTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                await vault.SweepAsync(db, clock.GetUtcNow(), stoppingToken);
                await Reservations.SweepAsync(db, stoppingToken);
                await limits.SweepAsync(TimeSpan.FromMinutes(1), stoppingToken);
                await AgentRuns.TraceStep.SweepAsync(db, clock.GetUtcNow(), traces.Value, stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                log.LogDebug("sweeping expired rows skipped: {Message}", e.Message);
            }
        }
    }
}
