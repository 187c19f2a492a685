using Microsoft.EntityFrameworkCore.Storage;

namespace Codebuff.Ledger;

/// <summary>
/// A database transaction holding the advisory locks of its owners (taken in a stable order by
/// <see cref="CreditLedger.BeginAsync"/>). It is the only way to grant, consume or run a monthly reset, so no ledger
/// write can happen without its owner's lock. Callers may add their own rows to the same DbContext (a referral, a new
/// user); <see cref="CommitAsync"/> saves them together with the ledger's. Disposing without committing rolls back.
/// </summary>
public sealed class LedgerTransaction : IAsyncDisposable
{
    readonly AppDbContext _db;
    readonly IDbContextTransaction _tx;
    readonly HashSet<LedgerOwner> _owners;
    readonly TimeProvider _clock;

    internal LedgerTransaction(AppDbContext db, IDbContextTransaction tx, IEnumerable<LedgerOwner> owners, TimeProvider clock)
    {
        _db = db;
        _tx = tx;
        _owners = [.. owners];
        _clock = clock;
    }

    DateTime Now => _clock.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Adds a grant unless one with this operation id exists (then returns false and changes nothing). Personal grants
    /// first pay off active debt (api.md §7.5); organization grants do not.
    /// </summary>
    public async Task<bool> GrantAsync(LedgerOwner owner, string operationId, string payerUserId, int amount, GrantType type,
        string? description, DateTime? expiresAt, CancellationToken ct)
    {
        Require(owner);
        if (amount <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "a grant must be positive");
        await _db.SaveChangesAsync(ct);
        if (await _db.CreditLedger.AnyAsync(g => g.OperationId == operationId, ct)) return false;

        var now = Now;
        var balance = amount;
        if (owner.OrgId is null)
        {
            var debts = await OwnerGrants.LiveQuery(_db, owner, now).Where(g => g.Balance < 0).OrderBy(g => g.CreatedAt).ToListAsync(ct);
            var debt = debts.Sum(g => -g.Balance);
            if (debt > 0)
            {
                foreach (var g in debts) g.Balance = 0;
                balance = amount - debt;
                description = $"{description} ({Math.Min(debt, amount)} credits used to clear existing debt)".TrimStart();
                // [our choice] A grant smaller than the debt is still recorded (balance 0), so that it stays
                // idempotent by operation id; upstream inserts nothing and a retry would pay the debt again.
                if (balance < 0) debts[0].Balance = balance;
            }
        }
        _db.CreditLedger.Add(new CreditGrant
        {
            OperationId = operationId, UserId = payerUserId, OrgId = owner.OrgId, Principal = amount, Balance = Math.Max(balance, 0),
            Type = type, Description = description, Priority = GrantPriorities.For(type), ExpiresAt = expiresAt, CreatedAt = now,
        });
        await _db.SaveChangesAsync(ct);
        return true;
    }

    /// <summary>
    /// Bills LLM calls and search tools: consumes each charge's credits (unless it does not deduct, as for BYOK) and
    /// inserts its message row, all in this transaction; see <see cref="ChargeSql"/>. A charge whose call id was applied
    /// before changes nothing. Runs any monthly reset that is due first.
    /// </summary>
    internal async Task<IReadOnlyList<ChargeResult>> ChargeAsync(LedgerOwner owner, IReadOnlyList<Charge> charges, CancellationToken ct)
    {
        Require(owner);
        if (owner.OrgId is null) await ResetQuotaAsync(owner.UserId!, ct);
        await _db.SaveChangesAsync(ct);
        return await ChargeSql.RunInTransactionAsync(_db, owner, charges, Now, ct);
    }

    /// <summary>
    /// api.md §7.4: when next_quota_reset has passed, move it forward by whole calendar months until it lies in the
    /// future and grant this period's free credits (principal of the last expired free grant, capped at 2000, else
    /// 500) plus — Dec 2025 model, which the 20-table schema matches — a referral grant worth all the user's referral
    /// bonuses, both expiring at the new reset. Operation ids carry the period, so the grant happens once per period.
    /// Returns the (possibly moved) next reset date.
    /// </summary>
    public async Task<DateTime> ResetQuotaAsync(string userId, CancellationToken ct)
    {
        Require(LedgerOwner.User(userId));
        await _db.SaveChangesAsync(ct);
        var now = Now;
        // The common case, checked without tracking the user row: the period has not ended.
        var current = await _db.Users.Where(u => u.Id == userId).Select(u => u.NextQuotaReset).FirstAsync(ct);
        if (current > now) return current.Value;

        var next = current ?? now;
        while (next <= now) next = QuotaCalendar.AddMonth(next);
        var period = next.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        var owner = LedgerOwner.User(userId);

        var lastFree = await OwnerGrants.AllQuery(_db, owner)
            .Where(g => g.Type == GrantType.Free && g.ExpiresAt != null && g.ExpiresAt <= now)
            .OrderByDescending(g => g.ExpiresAt).Select(g => (int?)g.Principal).FirstOrDefaultAsync(ct);
        var free = lastFree is { } p ? Math.Min(p, FreeCredits.MonthlyCap) : FreeCredits.Initial;
        if (free > 0)
            await GrantAsync(owner, $"free-{userId}-{period}", userId, free, GrantType.Free, "Monthly free credits", next, ct);

        var referral = await _db.Referrals.Where(r => r.ReferrerId == userId || r.ReferredId == userId).SumAsync(r => r.Credits, ct);
        if (referral > 0)
            await GrantAsync(owner, $"referral-{userId}-{period}", userId, referral, GrantType.Referral, "Monthly referral credits", next, ct);

        await _db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(x => x.SetProperty(u => u.NextQuotaReset, next), ct);
        return next;
    }

    /// <summary>Ends a grant now, keeping its record; false when it is unknown, over, or carries debt (see CreditLedger).</summary>
    public async Task<bool> ExpireGrantAsync(string operationId, string reason, CancellationToken ct)
    {
        var grant = await _db.CreditLedger.FirstAsync(g => g.OperationId == operationId, ct);
        Require(LedgerOwner.Of(grant.UserId, grant.OrgId));
        var now = Now;
        if (grant.ExpiresAt <= now || grant.Balance < 0) return false;
        grant.ExpiresAt = now;
        grant.Description = $"{grant.Description} (Expired early: {reason})".TrimStart();
        await _db.SaveChangesAsync(ct);
        return true;
    }

    /// <summary>
    /// Takes a purchase back whole (a disputed payment): the grant's balance drops by its principal, so what was unspent
    /// ends and what was spent becomes debt, and it stops expiring so the debt cannot lapse. Null when the grant is
    /// unknown or already over (a refunded grant: the money went back already); else what the grant was before, whose
    /// balance and expiry a restore puts back.
    /// </summary>
    public async Task<GrantState?> TakeBackGrantAsync(string operationId, string reason, CancellationToken ct)
    {
        var grant = await _db.CreditLedger.FirstOrDefaultAsync(g => g.OperationId == operationId, ct);
        if (grant is null) return null;
        var owner = LedgerOwner.Of(grant.UserId, grant.OrgId);
        Require(owner);
        if (grant.ExpiresAt <= Now) return null;
        var before = new GrantState(owner, grant.Principal, grant.Balance, grant.ExpiresAt);
        grant.Balance -= grant.Principal;
        grant.ExpiresAt = null;
        grant.Description = $"{grant.Description} (Taken back: {reason})".TrimStart();
        await _db.SaveChangesAsync(ct);
        return before;
    }

    /// <summary>Undoes <see cref="TakeBackGrantAsync"/>: the principal comes back to the grant, with its old expiry.</summary>
    public async Task RestoreGrantAsync(string operationId, DateTime? expiresAt, string reason, CancellationToken ct)
    {
        var grant = await _db.CreditLedger.FirstAsync(g => g.OperationId == operationId, ct);
        Require(LedgerOwner.Of(grant.UserId, grant.OrgId));
        grant.Balance += grant.Principal;
        grant.ExpiresAt = expiresAt;
        grant.Description = $"{grant.Description} (Restored: {reason})".TrimStart();
        await _db.SaveChangesAsync(ct);
    }

    /// <summary>Saves everything pending in the DbContext (the caller's rows too) and commits, releasing the locks.</summary>
    public async Task CommitAsync(CancellationToken ct)
    {
        await _db.SaveChangesAsync(ct);
        await _tx.CommitAsync(ct);
    }

    public ValueTask DisposeAsync() => _tx.DisposeAsync();

    void Require(LedgerOwner owner)
    {
        if (!_owners.Contains(owner)) throw new InvalidOperationException($"the ledger transaction does not hold the lock of {owner.LockKey}");
    }
}
