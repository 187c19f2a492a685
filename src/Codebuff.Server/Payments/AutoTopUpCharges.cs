using Codebuff.Server.Billing;

namespace Codebuff.Server.Payments;

/// <summary>
/// payments.auto_topup_charge: every automatic charge, recorded before Stripe is asked so that the daily cap holds
/// across instances (counted under an advisory lock per owner) and the billing pages can list each one.
/// </summary>
public static class AutoTopUpCharges
{
    public const string Pending = "pending", Succeeded = "succeeded", Declined = "declined", Failed = "failed";

    public sealed record Row(string OperationId, int Credits, string Status, string? Detail, DateTime CreatedAt);

    /// <summary>
    /// Records the charge unless the owner has had <paramref name="perDay"/> in the last 24 hours; false when capped.
    /// An operation id recorded before (the same minute, another instance) is the same Stripe charge: true, not counted again.
    /// </summary>
    public static async Task<bool> TryRecordAsync(AppDbContext db, LedgerOwner owner, string operationId, int credits, int perDay, DateTime now, CancellationToken ct)
    {
        var key = "auto-topup-charge:" + owner.LockKey;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))", ct);
        if (await db.Database.SqlQuery<int>($"SELECT 1 AS \"Value\" FROM payments.auto_topup_charge WHERE operation_id = {operationId}").AnyAsync(ct))
            return true;
        var since = now.AddDays(-1);
        var recent = await db.Database.SqlQuery<int>(
            $"SELECT count(*)::int AS \"Value\" FROM payments.auto_topup_charge WHERE owner = {owner.LockKey} AND created_at > {since}").FirstAsync(ct);
        if (recent >= perDay) return false;
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO payments.auto_topup_charge (operation_id, owner, credits, status, created_at)
            VALUES ({operationId}, {owner.LockKey}, {credits}, {Pending}, {now})
            """, ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public static Task SetStatusAsync(AppDbContext db, string operationId, string status, string? detail, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"UPDATE payments.auto_topup_charge SET status = {status}, detail = {detail} WHERE operation_id = {operationId}", ct);

    /// <summary>The owner's automatic charges, newest first.</summary>
    public static Task<List<Row>> ListAsync(AppDbContext db, LedgerOwner owner, CancellationToken ct) =>
        db.Database.SqlQuery<Row>($"""
            SELECT operation_id AS "OperationId", credits AS "Credits", status AS "Status", detail AS "Detail", created_at AS "CreatedAt"
            FROM payments.auto_topup_charge WHERE owner = {owner.LockKey} ORDER BY created_at DESC, operation_id
            """).ToListAsync(ct);
}
