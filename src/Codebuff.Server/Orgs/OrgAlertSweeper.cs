namespace Codebuff.Server.Orgs;

/// <summary>
/// On every instance, every <see cref="AlertOptions.SweepSeconds"/>: the weekly reports that are due (each claimed by
/// one instance, <see cref="WeeklyReports"/>), and a re-evaluation of the orgs with an open alert, so alerts re-arm
/// when their condition clears without a charge (a new cycle, credits granted by an operator). A database that does
/// not answer is skipped until the next round.
/// </summary>
public sealed class OrgAlertSweeper(IServiceScopeFactory scopes, OrgAlerts alerts, WeeklyReports reports, IOptions<AlertOptions> options,
    ILogger<OrgAlertSweeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.05, options.Value.SweepSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await reports.SendDueAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning("weekly reports skipped: {Message}", e.Message);
                }
                try
                {
                    List<string> open;
                    await using (var scope = scopes.CreateAsyncScope())
                        open = await OrgAlerts.OrgsWithOpenAlertsAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>(), stoppingToken);
                    foreach (var orgId in open) await alerts.EvaluateAsync(orgId, stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning("org alert re-evaluation skipped: {Message}", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: nothing left to send.
        }
    }
}
