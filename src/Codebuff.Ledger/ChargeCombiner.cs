using System.Diagnostics.Metrics;

namespace Codebuff.Ledger;

/// <summary>
/// Group commit across owners: personal owners whose charges are ready at the same moment are written in one
/// transaction and one round trip (<see cref="ChargeSql.RunStandaloneAsync(AppDbContext, IReadOnlyList{ValueTuple{LedgerOwner, IReadOnlyList{Charge}}}, DateTime, CancellationToken)"/>).
/// At most <see cref="BillingOptions.CombinedWriters"/> such transactions run at once; whatever becomes ready meanwhile
/// waits and goes in the next one, so under load a transaction (BEGIN, COMMIT, round trip, PostgreSQL backend
/// wake-up) is shared by many owners, and with one caller nothing waits. An owner whose part cannot be written this
/// way — its monthly reset is due, or the shared transaction failed — is told to write alone
/// (<see cref="CreditLedger.ChargeManyAsync"/>), where a failure or refusal is its own.
/// </summary>
sealed class ChargeCombiner(IServiceScopeFactory scopes, TimeProvider clock, SemaphoreSlim connections, int writers, int maxOwners)
{
    static readonly Counter<long> Shared = ChargeQueue.Meter.CreateCounter<long>("codebuff.billing.shared_transactions",
        description: "Billing transactions that wrote several owners' charges");

    sealed record Part(LedgerOwner Owner, IReadOnlyList<Charge> Charges, TaskCompletionSource<IReadOnlyList<ChargeResult>?> Done);

    readonly Lock _gate = new();
    readonly List<Part> _ready = [];
    int _running;

    /// <returns>The owner's results, or null when it must write alone; a lone owner's failure is thrown as it is.</returns>
    public Task<IReadOnlyList<ChargeResult>?> WriteAsync(LedgerOwner owner, IReadOnlyList<Charge> charges)
    {
        var part = new Part(owner, charges, new(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            _ready.Add(part);
            start = _running < writers;
            if (start) _running++;
        }
        if (start) _ = Task.Run(RunAsync);
        return part.Done.Task;
    }

    async Task RunAsync()
    {
        while (true)
        {
            List<Part> parts;
            lock (_gate)
            {
                if (_ready.Count == 0)
                {
                    _running--;
                    return;
                }
                parts = _ready.Take(maxOwners).ToList();
                _ready.RemoveRange(0, parts.Count);
            }
            await connections.WaitAsync();
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                var results = await ChargeSql.RunStandaloneAsync(db, parts.Select(p => (p.Owner, p.Charges)).ToList(), clock.GetUtcNow().UtcDateTime, CancellationToken.None);
                if (parts.Count > 1) Shared.Add(1);
                for (var i = 0; i < parts.Count; i++) parts[i].Done.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
                // Nothing was written. A lone owner sees its own error; owners that shared the transaction retry alone,
                // so that one owner's bad charge or lock timeout is its own.
                if (parts.Count == 1) parts[0].Done.TrySetException(e);
                else foreach (var p in parts) p.Done.TrySetResult(null);
            }
            finally
            {
                connections.Release();
            }
        }
    }
}
