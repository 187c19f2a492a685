using Codebuff.Server.Billing;

namespace Codebuff.Server.Payments;

/// <summary>
/// [our choice, upstream only counts disputes] A disputed purchase is taken back whole when the dispute opens — its
/// unspent credits end and what was spent becomes debt (<see cref="LedgerTransaction.TakeBackGrantAsync"/>) — and
/// given back if the dispute closes in our favour. Each step is recorded in payments.dispute_clawback, written in the
/// same transaction as the ledger change, so a replayed event changes nothing.
/// </summary>
public static class DisputeClawbacks
{
    public const string Taken = "taken", Restored = "restored", Lost = "lost", Ended = "ended";

    sealed record Record(string OperationId, string Status, DateTime? ExpiresAt);

    /// <summary>What happened, or null when the purchase's grant is not written yet (the event must come again).</summary>
    public static async Task<string?> TakeBackAsync(AppDbContext db, CreditLedger ledger, string disputeId, string operationId, DateTime now, CancellationToken ct)
    {
        if (await ledger.FindGrantAsync(operationId, ct) is not { Owner: var owner }) return null;
        await using var tx = await ledger.BeginAsync([owner], ct);
        if (await FindAsync(db, disputeId, ct) is not null) return "purchase already taken back";
        if (await tx.TakeBackGrantAsync(operationId, $"dispute {disputeId}", ct) is not { } before)
        {
            // Recorded all the same, so that its closing finds it and changes nothing.
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO payments.dispute_clawback (dispute_id, operation_id, owner, principal, unspent, status, created_at)
                VALUES ({disputeId}, {operationId}, {owner.LockKey}, 0, 0, {Ended}, {now})
                """, ct);
            await tx.CommitAsync(ct);
            return "grant already ended (refunded or expired); nothing taken back";
        }
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO payments.dispute_clawback (dispute_id, operation_id, owner, principal, unspent, expires_at, status, created_at)
            VALUES ({disputeId}, {operationId}, {before.Owner.LockKey}, {before.Principal}, {Math.Max(before.Balance, 0)}, {before.ExpiresAt}, {Taken}, {now})
            """, ct);
        await tx.CommitAsync(ct);
        return $"purchase taken back: {Math.Max(before.Balance, 0)} unspent credits ended, {before.Principal - Math.Max(before.Balance, 0)} spent became debt";
    }

    /// <summary>A closed dispute: won restores the purchase, lost keeps it taken. Null when it was never taken back.</summary>
    public static async Task<string?> CloseAsync(AppDbContext db, CreditLedger ledger, string disputeId, bool won, DateTime now, CancellationToken ct)
    {
        if (await FindAsync(db, disputeId, ct) is not { } taken) return null;
        var grant = await ledger.FindGrantAsync(taken.OperationId, ct) ?? throw new InvalidOperationException($"grant {taken.OperationId} is gone");
        await using var tx = await ledger.BeginAsync([grant.Owner], ct);
        var record = await FindAsync(db, disputeId, ct);
        if (record!.Status != Taken) return $"dispute already closed ({record.Status})";
        if (won) await tx.RestoreGrantAsync(record.OperationId, record.ExpiresAt, $"dispute {disputeId} won", ct);
        var status = won ? Restored : Lost;
        await db.Database.ExecuteSqlAsync($"UPDATE payments.dispute_clawback SET status = {status}, closed_at = {now} WHERE dispute_id = {disputeId}", ct);
        await tx.CommitAsync(ct);
        return won ? "dispute won: purchase restored" : "dispute lost: purchase stays taken back";
    }

    static Task<Record?> FindAsync(AppDbContext db, string disputeId, CancellationToken ct) =>
        db.Database.SqlQuery<Record>($"""
            SELECT operation_id AS "OperationId", status AS "Status", expires_at AS "ExpiresAt" FROM payments.dispute_clawback WHERE dispute_id = {disputeId}
            """).FirstOrDefaultAsync(ct)!;
}
