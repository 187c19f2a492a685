using System.Collections.Concurrent;

namespace Codebuff.Ledger;

/// <summary>
/// Keeps the credit holds (<see cref="Reservations"/>) of this instance's calls in flight from expiring while they last:
/// a stream may relay for longer than the provider timeout + slack a hold is first taken for, and an expired hold no
/// longer counts against the owner, so concurrent calls could spend it again. Every third of the slack, one UPDATE for
/// all of this instance's calls moves their expiry to at least now + slack; an instance that dies stops doing so and
/// its holds expire within the slack.
/// </summary>
public sealed class HoldKeeper : BackgroundService
{
    readonly IServiceScopeFactory _scopes;
    readonly IOptions<BillingOptions> _options;
    readonly ILogger<HoldKeeper> _log;
    readonly ConcurrentDictionary<Guid, byte> _calls = new();

    internal HoldKeeper(IServiceScopeFactory scopes, IOptions<BillingOptions> options, ILogger<HoldKeeper> log) =>
        (_scopes, _options, _log) = (scopes, options, log);

    TimeSpan Slack => TimeSpan.FromSeconds(_options.Value.HoldSlackSeconds);

    /// <summary>How long a hold is taken for by a call that may take <paramref name="callTimeout"/>.</summary>
    public TimeSpan Lease(TimeSpan callTimeout) => callTimeout + Slack;

    /// <summary>Keeps the call's hold alive until the result is disposed (after the call's charge or release).</summary>
    public IDisposable Keep(Guid callId)
    {
        _calls[callId] = 0;
        return new Kept(() => _calls.TryRemove(callId, out _));
    }

    sealed class Kept(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Slack / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_calls.IsEmpty) continue;
                var ids = _calls.Keys.ToArray();
                try
                {
                    await using var scope = _scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                    var slack = Slack;
                    await db.Database.ExecuteSqlAsync(
                        $"UPDATE billing.reservation SET expires_at = greatest(expires_at, now() + {slack}) WHERE call_id = ANY({ids})", stoppingToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    _log.LogWarning("the holds of {Count} calls in flight were not renewed this round: {Error}", ids.Length, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
