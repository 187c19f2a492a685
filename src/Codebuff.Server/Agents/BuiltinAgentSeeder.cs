namespace Codebuff.Server.Agents;

/// <summary>
/// Seeds the built-in agents when the server starts (after Entry has migrated the database), before it listens.
/// A database that does not answer does not stop the server (health reports it); seeding then retries in the background.
/// </summary>
public sealed class BuiltinAgentSeeder(IServiceScopeFactory scopes, ILogger<BuiltinAgentSeeder> log) : IHostedService
{
    readonly CancellationTokenSource _stopping = new();
    Task _retry = Task.CompletedTask;

    public async Task StartAsync(CancellationToken ct)
    {
        try
        {
            await SeedOnceAsync(ct);
        }
        catch (NpgsqlException e)
        {
            log.LogWarning("built-in agents not seeded yet, retrying in the background: {Error}", e.Message);
            _retry = RetryAsync(_stopping.Token);
        }
    }

    async Task SeedOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var published = await BuiltinAgents.SeedAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>(),
            scope.ServiceProvider.GetRequiredService<TimeProvider>(), ct);
        if (published.Count > 0) log.LogInformation("published built-in agents: {Agents}", string.Join(", ", published));
    }

    async Task RetryAsync(CancellationToken ct)
    {
        for (var delay = TimeSpan.FromSeconds(2); !ct.IsCancellationRequested; delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 60)))
        {
            try
            {
                await Task.Delay(delay, ct);
                await SeedOnceAsync(ct);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (NpgsqlException e) { log.LogWarning("built-in agents not seeded yet: {Error}", e.Message); }
            catch (Exception e) { log.LogError(e, "seeding the built-in agents failed"); return; }
        }
    }

    public async Task StopAsync(CancellationToken ct)
    {
        await _stopping.CancelAsync();
        await _retry;
        _stopping.Dispose();
    }
}
