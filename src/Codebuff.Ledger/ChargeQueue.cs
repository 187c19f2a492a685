using System.Diagnostics.Metrics;

namespace Codebuff.Ledger;

/// <summary>Section "Codebuff:Billing".</summary>
sealed class BillingOptions
{
    /// <summary>How long an answer waits for its charge to commit before it is released on the strength of the journal.</summary>
    public double CommitWaitSeconds { get; set; } = 2;

    /// <summary>Most charges of one owner written in one transaction.</summary>
    public int MaxBatch { get; set; } = 500;

    /// <summary>Most transactions at once that each write several personal owners' charges (ChargeCombiner).</summary>
    public int CombinedWriters { get; set; } = 2;

    /// <summary>Most owners in one such transaction.</summary>
    public int MaxCombinedOwners { get; set; } = 64;

    /// <summary>How long a credit hold outlives its call's own timeout, and how far ahead a call in flight keeps it (HoldKeeper).</summary>
    public double HoldSlackSeconds { get; set; } = 60;
}

/// <summary>
/// Per-owner group commit. Charges are journaled, then queued per owner; each owner with queued charges has at most
/// one writer, which takes everything queued so far and writes it in one transaction (one lock, one pass over the
/// grants, many message rows). So one owner never holds more than one connection of this instance however many of
/// its calls finish at once, and a hot owner's throughput grows with load instead of queueing on the lock. Writers
/// together take at most half the pool, leaving the rest to requests. A write that fails for a reason that can pass
/// (database down, pool exhausted, lock timeout) is retried with backoff until it lands; a charge the database
/// refuses outright (e.g. its user was deleted) is handed to <see cref="LedgerHooks.Refused"/> with its error.
/// No error stops a writer: a journal that cannot write (a full disk) is reported and worked around — an answer whose
/// charge is neither committed nor on disk waits for the commit — and anything unexpected is retried with backoff.
/// What is failing right now is reported by /api/healthz (<see cref="Problems"/>).
/// </summary>
public sealed class ChargeQueue : BackgroundService
{
    public static readonly Meter Meter = new("Codebuff.Billing");
    static readonly Counter<long> Committed = Meter.CreateCounter<long>("codebuff.billing.charges_committed", description: "Charges written to the database");
    static readonly Counter<long> Retries = Meter.CreateCounter<long>("codebuff.billing.write_retries", description: "Billing transactions that failed and will be retried");
    static readonly Counter<long> Refused = Meter.CreateCounter<long>("codebuff.billing.charges_refused", description: "Charges the database refused, recorded in sync_failure");

    static readonly JsonSerializerOptions SummaryJson = new(JsonSerializerDefaults.Web);

    readonly IServiceScopeFactory _scopes;
    readonly ChargeJournal _journal;
    readonly BillingOptions _options;
    readonly ILogger<ChargeQueue> _log;
    readonly LedgerHooks _hooks;
    readonly SemaphoreSlim _writers;
    readonly ChargeCombiner _combiner;
    readonly Lock _gate = new();
    readonly Dictionary<LedgerOwner, OwnerQueue> _owners = [];
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, Problem> _problems = new();
    int _pending;

    sealed record Problem(string Source, string Error, DateTime Since);

    sealed class OwnerQueue
    {
        public List<Waiting> Items { get; } = [];
        public int Failures { get; set; }
        public bool OneAtATime { get; set; }
    }

    /// <summary>Done: committed (true) or stop waiting for it (false, a write failed); Written: committed, whenever that is.</summary>
    sealed record Waiting(Charge Charge, TaskCompletionSource<bool> Done, TaskCompletionSource Written);

    /// <param name="poolSize">The connection pool's size: writers take at most half of it.</param>
    internal ChargeQueue(IServiceScopeFactory scopes, ChargeJournal journal, IOptions<BillingOptions> options, int poolSize, ILogger<ChargeQueue> log,
        LedgerHooks hooks, TimeProvider clock)
    {
        _scopes = scopes;
        _journal = journal;
        _options = options.Value;
        _log = log;
        _hooks = hooks;
        _writers = new SemaphoreSlim(Math.Max(1, poolSize / 2));
        _combiner = new ChargeCombiner(scopes, clock, _writers, Math.Max(1, _options.CombinedWriters), Math.Max(1, _options.MaxCombinedOwners));
        Meter.CreateObservableGauge("codebuff.billing.pending_charges", () => Volatile.Read(ref _pending),
            description: "Charges answered but not yet in the database");
    }

    /// <summary>Charges answered but not yet written (shown by /api/healthz).</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>
    /// What is failing now (shown by /api/healthz): "journal", "database" or "writer", its latest error and since
    /// when; empty when billing is healthy.
    /// </summary>
    public IReadOnlyList<(string Source, string Error, DateTime Since)> Problems => [.. _problems.Values.OrderBy(p => p.Source).Select(p => (p.Source, p.Error, p.Since))];

    /// <summary>
    /// Journals the charge and queues it. Returns once it is in the database, or — if that takes longer than
    /// CommitWaitSeconds or the write failed — once the journal is on disk; the charge then lands later. While the
    /// journal cannot write, the answer waits for the commit instead (trying the journal again every second).
    /// </summary>
    /// <returns>true when the charge committed before returning.</returns>
    public async Task<bool> SubmitAsync(Charge charge)
    {
        var journaled = Journal(() => _journal.Append(charge));
        var waiting = Enqueue(charge);
        var committed = await waiting.Done.Task.WaitAsync(TimeSpan.FromSeconds(_options.CommitWaitSeconds)).ContinueWith(t => t.IsCompletedSuccessfully && t.Result);
        if (committed) return true;
        if (journaled && Journal(_journal.Flush)) return false;
        while (true)
        {
            if (await waiting.Written.Task.WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(t => t.IsCompletedSuccessfully)) return true;
            if (Journal(() => { _journal.Append(charge); _journal.Flush(); })) return false;
        }
    }

    /// <summary>Runs a journal operation; a failure is reported (health, log) and answered false, never thrown.</summary>
    bool Journal(Action operation)
    {
        try
        {
            operation();
            Resolved("journal");
            return true;
        }
        catch (Exception e)
        {
            Report("journal", e);
            return false;
        }
    }

    void Report(string source, Exception e)
    {
        var now = DateTime.UtcNow;
        var problem = _problems.AddOrUpdate(source, _ => new Problem(source, e.Message, now), (_, old) => old with { Error = e.Message });
        if (problem.Since == now) _log.LogError("billing {Source} failing: {Error}", source, e.Message);
    }

    void Resolved(string source)
    {
        if (_problems.TryRemove(source, out var problem)) _log.LogWarning("billing {Source} works again (failing since {Since:O})", source, problem.Since);
    }

    Waiting Enqueue(Charge charge)
    {
        var pending = new Waiting(charge, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously),
            new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            start = !_owners.TryGetValue(charge.Owner, out var queue);
            if (start) _owners[charge.Owner] = queue = new OwnerQueue();
            queue!.Items.Add(pending);
            _pending++;
        }
        if (start) _ = Task.Run(() => DrainAsync(charge.Owner));
        return pending;
    }

    /// <summary>Replays the charges of instances that died before writing them.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Adopting reads and writes files: a failure (a full disk) is reported and tried again, not given up on.
        for (var failures = 1; ; failures++)
        {
            IReadOnlyList<Charge> adopted = [];
            if (Journal(() => adopted = _journal.AdoptOrphans()))
            {
                if (adopted.Count > 0) _log.LogWarning("replaying {Count} charges journaled by an instance that stopped before writing them", adopted.Count);
                foreach (var charge in adopted) _ = Enqueue(charge);
                return;
            }
            await Task.Delay(Backoff(failures), stoppingToken);
        }
    }

    /// <summary>The owner's one writer: runs until its queue is empty. Nothing it meets ends it early.</summary>
    async Task DrainAsync(LedgerOwner owner)
    {
        for (var failures = 1; ;)
        {
            try
            {
                if (!await DrainOnceAsync(owner)) return;
                failures = 1;
            }
            catch (Exception e)
            {
                _log.LogError(e, "billing writer of {Owner} failed; retrying", owner.LockKey);
                Report("writer", e);
                await Task.Delay(Backoff(failures++));
            }
        }
    }

    /// <summary>Writes one batch of the owner's queue; false once the queue is empty (and the owner unregistered).</summary>
    async Task<bool> DrainOnceAsync(LedgerOwner owner)
    {
        List<Waiting> batch;
        OwnerQueue queue;
        lock (_gate)
        {
            queue = _owners[owner];
            if (queue.Items.Count == 0)
            {
                _owners.Remove(owner);
                return false;
            }
            batch = queue.Items.Take(queue.OneAtATime ? 1 : _options.MaxBatch).ToList();
        }
        var outcome = await WriteAsync(owner, batch);
        lock (_gate)
        {
            if (outcome == Outcome.Written)
            {
                queue.Items.RemoveRange(0, batch.Count);
                _pending -= batch.Count;
                queue.Failures = 0;
            }
            else if (outcome == Outcome.Retry) queue.Failures++;
            // A batch refused outright is retried one charge at a time, so one bad charge cannot hold back the others.
            queue.OneAtATime = outcome == Outcome.Split || (queue.OneAtATime && outcome == Outcome.Retry);
        }
        if (outcome == Outcome.Retry)
        {
            foreach (var p in batch) p.Done.TrySetResult(false);
            Journal(_journal.Flush);
            await Task.Delay(Backoff(queue.Failures));
        }
        else Resolved("writer");
        return true;
    }

    enum Outcome { Written, Retry, Split }

    async Task<Outcome> WriteAsync(LedgerOwner owner, List<Waiting> batch)
    {
        var charges = batch.Select(p => p.Charge).DistinctBy(c => c.CallId).ToList();
        try
        {
            // Personal owners first try to share a transaction with others ready now; the rest, and any owner the
            // combiner hands back, write alone.
            if (owner.OrgId is not null || await _combiner.WriteAsync(owner, charges) is null)
            {
                await _writers.WaitAsync();
                try
                {
                    await using var scope = _scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeManyAsync(owner, charges);
                }
                finally
                {
                    _writers.Release();
                }
            }
            Committed.Add(charges.Count);
            // What runs after a charge (auto top-up, api.md §7.8–7.9, and org alerts) runs after the lock is
            // released and schedules its work in the background, so the charges just written are not held up.
            _hooks.Charged(owner);
        }
        catch (Exception e) when (IsRefusal(e))
        {
            if (batch.Count > 1)
            {
                _log.LogWarning("a batch of {Count} charges was refused ({Error}); writing them one by one", batch.Count, e.Message);
                return Outcome.Split;
            }
            if (!await RecordRefusalAsync(batch[0].Charge, e)) return Outcome.Retry;
            Refused.Add(1);
        }
        catch (Exception e)
        {
            Retries.Add(1);
            _log.LogWarning("billing write for {Count} charges failed, will retry: {Error}", batch.Count, e.Message);
            Report("database", e);
            return Outcome.Retry;
        }
        Resolved("database");
        // The charges are in the database whether or not the journal can say so (see ChargeJournal.MarkDone).
        Journal(() => _journal.MarkDone(charges.Select(c => c.CallId).ToList()));
        foreach (var p in batch)
        {
            p.Done.TrySetResult(true);
            p.Written.TrySetResult();
        }
        return Outcome.Written;
    }

    /// <summary>Errors that no retry can fix: bad data (class 22) or a violated reference (the user is gone).</summary>
    static bool IsRefusal(Exception e) =>
        e is PostgresException { SqlState: var s } && (s.StartsWith("22", StringComparison.Ordinal) || s is "23503" or "23502" or "23514");

    async Task<bool> RecordRefusalAsync(Charge charge, Exception error)
    {
        var summary = JsonSerializer.Serialize(charge with { Response = "", ReasoningText = null }, SummaryJson);
        _log.LogError("charge {CallId} of {Owner} can never apply: {Error}", charge.CallId, charge.Owner.LockKey, error.Message);
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await _hooks.Refused(db, charge.CallId.ToString(), $"{error.Message} | charge: {summary}", CancellationToken.None);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or DbUpdateException or InvalidOperationException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>100 ms doubling to 5 s, with jitter so that instances do not retry in step.</summary>
    static TimeSpan Backoff(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(failures - 1, 6))) * (0.75 + Random.Shared.NextDouble() * 0.5));
}
