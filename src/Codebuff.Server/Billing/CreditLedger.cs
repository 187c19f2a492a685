using System.Security.Cryptography;
using System.Text;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Billing;

/// <summary>Whose credits: a user's personal grants (org_id NULL) or an organization's grants.</summary>
public readonly record struct LedgerOwner(string? UserId, string? OrgId)
{
    public static LedgerOwner User(string userId) => new(userId, null);
    public static LedgerOwner Org(string orgId) => new(null, orgId);
    public string LockKey => OrgId is null ? $"user:{UserId}" : $"org:{OrgId}";
}

public sealed record CreditBalance(
    int TotalRemaining, int TotalDebt, int NetBalance,
    IReadOnlyDictionary<string, int> Breakdown, IReadOnlyDictionary<string, int> Principals);

public enum ChargeOutcome { Charged, AlreadyBilled }

/// <summary>
/// The only code that writes credit_ledger. Every write for one owner runs in a READ COMMITTED transaction that
/// first takes a transaction-scoped advisory lock on that owner, so concurrent grants and consumptions of the same
/// owner are serialised while different owners proceed in parallel. No lock is ever held across an LLM call:
/// callers charge after the upstream has answered.
/// </summary>
public sealed class CreditLedger(AppDbContext db, TimeProvider clock)
{
    /// <summary>
    /// Adds a grant, idempotent by operation id (the same id twice creates one row). Personal grants first pay off
    /// active debt (api.md §7.5); organization grants do not.
    /// </summary>
    public async Task<bool> GrantAsync(LedgerOwner owner, string operationId, string payerUserId, int amount, GrantType type,
        string? description, DateTime? expiresAt, CancellationToken ct = default)
    {
        if (amount <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "a grant must be positive");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await LockAsync(owner, ct);
        if (await db.CreditLedger.AnyAsync(g => g.OperationId == operationId, ct)) return false;

        var now = clock.GetUtcNow().UtcDateTime;
        var balance = amount;
        if (owner.OrgId is null)
        {
            var debts = await ActiveGrants(owner, now).Where(g => g.Balance < 0).ToListAsync(ct);
            var debt = debts.Sum(g => -g.Balance);
            if (debt > 0)
            {
                foreach (var g in debts) g.Balance = 0;
                balance = amount - debt;
                description = $"{description} ({Math.Min(debt, amount)} credits used to clear existing debt)".TrimStart();
                if (balance < 0)
                {
                    // The grant only reduces the debt: the remainder stays on the first debt-holding grant.
                    debts[0].Balance = balance;
                }
            }
        }
        db.CreditLedger.Add(new CreditGrant
        {
            OperationId = operationId, UserId = payerUserId, OrgId = owner.OrgId, Principal = amount, Balance = Math.Max(balance, 0),
            Type = type, Description = description, Priority = GrantPriorities.For(type), ExpiresAt = expiresAt, CreatedAt = now,
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// Bills one LLM call: consumes <paramref name="credits"/> from the owner's grants (unless <paramref name="deduct"/>
    /// is false, as for BYOK) and inserts its message row, in one transaction. A message id that was already billed
    /// changes nothing, so an upstream retry cannot bill twice.
    /// </summary>
    public async Task<ChargeOutcome> ChargeAsync(LedgerOwner owner, Message message, bool deduct, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await LockAsync(owner, ct);
        if (await db.Messages.AnyAsync(m => m.Id == message.Id, ct)) return ChargeOutcome.AlreadyBilled;
        if (deduct) await ConsumeLockedAsync(owner, message.Credits, $"debt-{message.Id}", ct);
        db.Messages.Add(message);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return ChargeOutcome.Charged;
    }

    /// <summary>Consumes credits without a message row (search tools, admin corrections).</summary>
    public async Task ConsumeAsync(LedgerOwner owner, int credits, string operationId, CancellationToken ct = default)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await LockAsync(owner, ct);
        await ConsumeLockedAsync(owner, credits, $"debt-{operationId}", ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Balance over grants active now (api.md §7.7); personal balances leave organization grants out.</summary>
    public async Task<CreditBalance> GetBalanceAsync(LedgerOwner owner, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var grants = await ActiveGrants(owner, now).AsNoTracking().ToListAsync(ct);
        return Summarise(grants);
    }

    public static CreditBalance Summarise(IEnumerable<CreditGrant> grants)
    {
        var breakdown = Enum.GetValues<GrantType>().ToDictionary(t => Label(t), _ => 0);
        var principals = Enum.GetValues<GrantType>().ToDictionary(t => Label(t), _ => 0);
        int positive = 0, debt = 0;
        foreach (var g in grants)
        {
            principals[Label(g.Type)] += g.Principal;
            if (g.Balance > 0) { breakdown[Label(g.Type)] += g.Balance; positive += g.Balance; }
            else debt -= g.Balance;
        }
        var settled = Math.Min(debt, positive);
        var remaining = positive - settled;
        var totalDebt = debt - settled;
        return new CreditBalance(remaining, totalDebt, remaining - totalDebt, breakdown, principals);
    }

    public static string Label(GrantType t) => t.ToString().ToLowerInvariant();

    async Task ConsumeLockedAsync(LedgerOwner owner, int credits, string debtOperationId, CancellationToken ct)
    {
        if (credits <= 0) return;
        var now = clock.GetUtcNow().UtcDateTime;
        var grants = await ActiveGrants(owner, now)
            .OrderBy(g => g.Priority).ThenBy(g => g.ExpiresAt == null).ThenBy(g => g.ExpiresAt).ThenBy(g => g.CreatedAt)
            .ToListAsync(ct);
        var remaining = credits;
        foreach (var g in grants.Where(g => g.Balance > 0))
        {
            var take = Math.Min(remaining, g.Balance);
            g.Balance -= take;
            remaining -= take;
            if (remaining == 0) return;
        }
        if (grants.Count > 0)
        {
            grants[^1].Balance -= remaining; // the last grant in consumption order carries the debt
            return;
        }
        // [our choice] upstream drops the charge when an owner has no grant at all; we keep the debt on record
        // in a zero-principal grant so that every billed credit is accounted for and settled by the next grant.
        db.CreditLedger.Add(new CreditGrant
        {
            OperationId = debtOperationId, UserId = owner.UserId ?? throw new InvalidOperationException("an organization without grants cannot go into debt"),
            OrgId = owner.OrgId, Principal = 0, Balance = -remaining, Type = GrantType.Admin,
            Description = "Debt from usage without an active grant", Priority = GrantPriorities.For(GrantType.Admin), CreatedAt = now,
        });
    }

    IQueryable<CreditGrant> ActiveGrants(LedgerOwner owner, DateTime now)
    {
        var active = db.CreditLedger.Where(g => g.ExpiresAt == null || g.ExpiresAt > now);
        return owner.OrgId is null
            ? active.Where(g => g.UserId == owner.UserId && g.OrgId == null)
            : active.Where(g => g.OrgId == owner.OrgId);
    }

    /// <summary>Transaction-scoped advisory lock keyed by the first 8 bytes of SHA-256("user:&lt;id&gt;" or "org:&lt;id&gt;").</summary>
    Task LockAsync(LedgerOwner owner, CancellationToken ct)
    {
        var key = BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(owner.LockKey)), 0);
        return db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({key})", ct);
    }
}
