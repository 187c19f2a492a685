namespace Codebuff.Ledger;

public sealed record CreditBalance(
    int TotalRemaining, int TotalDebt, int NetBalance,
    IReadOnlyDictionary<string, int> Breakdown, IReadOnlyDictionary<string, int> Principals);

enum ChargeOutcome { Charged, AlreadyBilled }

/// <summary>
/// The only code that writes credit_ledger. Every write for one owner runs in a READ COMMITTED transaction that
/// first takes a transaction-scoped advisory lock on that owner (api.md §7.10), handed out as a
/// <see cref="LedgerTransaction"/>: grants, consumptions and monthly resets of one owner are serialised while
/// different owners proceed in parallel, and nothing waits on row locks in an order that could deadlock. Why a lock
/// per owner rather than SERIALIZABLE with retries: every consumption of one owner touches the same few grant rows, so
/// under SERIALIZABLE concurrent charges of a hot user mostly fail and retry; with the lock they queue instead — and
/// <see cref="ChargeQueue"/> queues them in process first, so one owner holds at most one connection per instance.
/// No lock is ever held across an LLM call: callers charge after the provider has answered.
/// </summary>
public sealed class CreditLedger(AppDbContext db, TimeProvider clock)
{
    DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Begins a transaction holding the advisory locks of the given owners, taken in a stable order so that two
    /// transactions locking the same pair (a referral's two users) cannot deadlock. A lock that cannot be had within
    /// 30 s fails the call rather than letting requests pile up behind a stuck holder.
    /// </summary>
    public async Task<LedgerTransaction> BeginAsync(IEnumerable<LedgerOwner> owners, CancellationToken ct)
    {
        var list = owners.Distinct().ToList();
        var tx = await db.Database.BeginTransactionAsync(ct);
        try
        {
            foreach (var owner in list.OrderBy(ChargeSql.LockId))
                await db.Database.ExecuteSqlAsync(
                    $"SELECT pg_advisory_xact_lock({ChargeSql.LockId(owner)}) FROM (SELECT set_config('lock_timeout', '30s', true)) AS t", ct);
            return new LedgerTransaction(db, tx, list, clock);
        }
        catch
        {
            await tx.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Adds a grant, idempotent by operation id: the same id twice creates one row, and the second call changes
    /// nothing and returns the row the first one made (<see cref="GrantResult.Created"/> false).
    /// </summary>
    public async Task<GrantResult> GrantAsync(LedgerOwner owner, string operationId, string payerUserId, int amount, GrantType type,
        string? description, DateTime? expiresAt, CancellationToken ct = default)
    {
        await using var tx = await BeginAsync([owner], ct);
        var added = await tx.GrantAsync(owner, operationId, payerUserId, amount, type, description, expiresAt, ct);
        var grant = await db.CreditLedger.AsNoTracking().FirstAsync(g => g.OperationId == operationId, ct);
        await tx.CommitAsync(ct);
        return new GrantResult(added, grant);
    }

    /// <summary>
    /// Ends a grant now (refunds, disputes, operator corrections): expires_at moves to now, so the grant leaves every
    /// balance and consumption from this instant, while principal and balance stay as the record of what happened.
    /// Returns false — and changes nothing — when the id is unknown, the grant has already expired, or it carries
    /// debt (expiring it would silently forgive that debt).
    /// </summary>
    public async Task<bool> ExpireGrantAsync(string operationId, string reason, CancellationToken ct = default)
    {
        if (await FindGrantAsync(operationId, ct) is not { } found) return false;
        await using var tx = await BeginAsync([found.Owner], ct);
        if (!await tx.ExpireGrantAsync(operationId, reason, ct)) return false;
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>The grant with this operation id, or null when there is none (yet).</summary>
    public async Task<GrantState?> FindGrantAsync(string operationId, CancellationToken ct = default)
    {
        var g = await db.CreditLedger.AsNoTracking().Where(g => g.OperationId == operationId)
            .Select(g => new { g.UserId, g.OrgId, g.Principal, g.Balance, g.ExpiresAt }).FirstOrDefaultAsync(ct);
        return g is null ? null : new GrantState(LedgerOwner.Of(g.UserId, g.OrgId), g.Principal, g.Balance, g.ExpiresAt);
    }

    /// <summary>
    /// A new user's first ledger entries (api.md §5.1), in one transaction with whatever the caller staged in the shared
    /// DbContext (the user row, a sign-in's account row): the first monthly reset — its date is the database's default
    /// for the new row, saved first — and the sign-up grant of <see cref="FreeCredits.Initial"/>, expiring then.
    /// </summary>
    public async Task OpenAccountAsync(string userId, string grantOperationId, CancellationToken ct = default)
    {
        var owner = LedgerOwner.User(userId);
        await using var tx = await BeginAsync([owner], ct);
        var reset = await tx.ResetQuotaAsync(userId, ct);
        // [our choice, api.md §5.1] the sign-up grant does not wait for a Stripe customer.
        await tx.GrantAsync(owner, grantOperationId, userId, FreeCredits.Initial, GrantType.Free, "Free credits for signing up", reset, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Bills one message: consumes <c>message.Credits</c> from the owner's grants (unless <paramref name="deduct"/> is
    /// false, as for BYOK) and inserts the row, in one transaction. The same message id twice changes nothing.
    /// </summary>
    internal async Task<ChargeOutcome> ChargeAsync(LedgerOwner owner, Message message, bool deduct, CancellationToken ct = default)
    {
        var result = (await ChargeManyAsync(owner, [Charge.ForMessage(message, deduct)], ct))[0];
        return result.Applied ? ChargeOutcome.Charged : ChargeOutcome.AlreadyBilled;
    }

    /// <summary>
    /// One owner's charges in one transaction and one round trip (see <see cref="ChargeSql"/>); a monthly reset that is
    /// due runs first in a transaction of its own.
    /// </summary>
    internal async Task<IReadOnlyList<ChargeResult>> ChargeManyAsync(LedgerOwner owner, IReadOnlyList<Charge> charges, CancellationToken ct = default)
    {
        if (charges.Any(c => c.Owner != owner)) throw new ArgumentException("every charge must belong to the owner", nameof(charges));
        while (true)
        {
            if (await ChargeSql.RunStandaloneAsync(db, owner, charges, Now, ct) is { } results) return results;
            await EnsureQuotaResetAsync(owner.UserId!, ct);
        }
    }

    /// <summary>
    /// Balance over grants active now (api.md §7.7); personal balances leave organization grants out. For a user
    /// this first performs the lazy monthly reset, so every balance read sees this period's free grant.
    /// </summary>
    public async Task<CreditBalance> GetBalanceAsync(LedgerOwner owner, CancellationToken ct = default) =>
        (await GetUsageAsync(owner, ct)).Balance;

    /// <summary>Balance, usage this cycle and the (possibly just moved) quota reset date.</summary>
    public async Task<CreditUsage> GetUsageAsync(LedgerOwner owner, CancellationToken ct = default)
    {
        DateTime? nextReset = null;
        if (owner.OrgId is null) nextReset = await EnsureQuotaResetAsync(owner.UserId!, ct);
        var grants = await OwnerGrants.LiveQuery(db, owner, Now).AsNoTracking().ToListAsync(ct);
        return new CreditUsage(Summarise(grants), UsageThisCycle(grants, nextReset), nextReset);
    }

    internal static CreditBalance Summarise(IEnumerable<CreditGrant> grants)
    {
        var breakdown = Enum.GetValues<GrantType>().ToDictionary(Label, _ => 0);
        var principals = Enum.GetValues<GrantType>().ToDictionary(Label, _ => 0);
        int positive = 0, debt = 0;
        foreach (var g in grants)
        {
            principals[Label(g.Type)] += g.Principal;
            if (g.Balance > 0) { breakdown[Label(g.Type)] += g.Balance; positive += g.Balance; }
            else debt -= g.Balance;
        }
        return Summarise(positive, debt, breakdown, principals);
    }

    /// <summary>Debt is settled against positive balances first (<see cref="OwnerGrants.Remaining"/>).</summary>
    internal static CreditBalance Summarise(int positive, int debt, IReadOnlyDictionary<string, int> breakdown, IReadOnlyDictionary<string, int> principals)
    {
        var remaining = OwnerGrants.Remaining(positive, debt);
        var totalDebt = debt - (positive - remaining);
        return new CreditBalance(remaining, totalDebt, remaining - totalDebt, breakdown, principals);
    }

    /// <summary>
    /// Σ(principal − balance) over the grants that belong to the current cycle (api.md §7.7). [our choice] Upstream
    /// compares expires_at &gt; next reset, which leaves out exactly the grants that expire at the reset — every
    /// monthly free grant — so a user's free usage never showed; we count grants expiring at or after it.
    /// </summary>
    static int UsageThisCycle(IEnumerable<CreditGrant> grants, DateTime? nextReset) =>
        grants.Where(g => nextReset is null || g.ExpiresAt is null || g.ExpiresAt >= nextReset || g.CreatedAt > nextReset)
            .Sum(g => g.Principal - g.Balance);

    public static string Label(GrantType t) => t.ToString().ToLowerInvariant();

    /// <summary>Runs the lazy monthly reset for a user when it is due (own transaction); returns the next reset date.</summary>
    async Task<DateTime> EnsureQuotaResetAsync(string userId, CancellationToken ct)
    {
        var reset = await db.Users.Where(u => u.Id == userId).Select(u => u.NextQuotaReset).FirstOrDefaultAsync(ct);
        if (reset > Now) return reset.Value;
        await using var tx = await BeginAsync([LedgerOwner.User(userId)], ct);
        var next = await tx.ResetQuotaAsync(userId, ct);
        await tx.CommitAsync(ct);
        return next;
    }
}

/// <summary>A grant call's outcome: whether this call created the grant, and the stored row (for tests).</summary>
public sealed class GrantResult
{
    internal GrantResult(bool created, CreditGrant grant) => (Created, Grant) = (created, grant);

    public bool Created { get; }

    internal CreditGrant Grant { get; }
}

/// <summary>A grant as the server may see it: whose it is, its principal, balance and expiry.</summary>
public sealed record GrantState(LedgerOwner Owner, int Principal, int Balance, DateTime? ExpiresAt);

public sealed record CreditUsage(CreditBalance Balance, int UsageThisCycle, DateTime? NextQuotaReset);
