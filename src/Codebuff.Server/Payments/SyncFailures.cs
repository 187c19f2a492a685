namespace Codebuff.Server.Payments;

/// <summary>
/// The sync_failure table (schema.md §3.7): id = the failing entity's key (user or org id for a Stripe customer,
/// operation id for a grant, call id for a charge), provider 'stripe', 'internal' or 'billing'. A repeat bumps retry_count; at
/// <see cref="MaxRetries"/> the row leaves the partial index and waits for an operator (admin sync-failures).
/// </summary>
public static class SyncFailures
{
    public const string Stripe = "stripe", Internal = "internal", Billing = "billing";
    public const int MaxRetries = 5;

    /// <param name="keepWholeError">A refused charge keeps its whole record in the error, so an operator can re-apply it.</param>
    public static async Task RecordAsync(AppDbContext db, string id, string provider, string error, CancellationToken ct, bool keepWholeError = false)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO sync_failure (id, provider, last_error) VALUES ({id}, {provider}, {(keepWholeError ? error : Truncate(error))})
            ON CONFLICT (id) DO UPDATE SET retry_count = sync_failure.retry_count + 1, last_error = excluded.last_error, last_attempt_at = now()
            """, ct);
        Telemetry.Instruments.SyncFailed(provider);
    }

    /// <summary>A problem that only an operator can resolve (no automatic retry): recorded at the retry limit.</summary>
    public static async Task RecordForOperatorAsync(AppDbContext db, string id, string provider, string problem, CancellationToken ct)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO sync_failure (id, provider, last_error, retry_count) VALUES ({id}, {provider}, {Truncate(problem)}, {MaxRetries})
            ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error, last_attempt_at = now(), retry_count = {MaxRetries}
            """, ct);
        Telemetry.Instruments.SyncFailed(provider);
    }

    public static Task ResolvedAsync(AppDbContext db, string id, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"DELETE FROM sync_failure WHERE id = {id}", ct);

    static string Truncate(string s) => s.Length > 2000 ? s[..2000] : s;
}
