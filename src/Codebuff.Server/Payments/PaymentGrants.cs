using Codebuff.Server.Billing;

namespace Codebuff.Server.Payments;

/// <summary>A grant owed for money that has moved: who gets it, who paid, how much, and its idempotency key.</summary>
public sealed record PaidGrant(string OperationId, string PayerUserId, string? OrgId, int Credits, GrantType Type, string Description)
{
    public LedgerOwner Owner => LedgerOwner.Of(PayerUserId, OrgId);
}

/// <summary>How a paid grant went: written now, or handed to the sync_failure retries (the money is never forgotten).</summary>
public enum GrantOutcome { Granted, AlreadyGranted, Deferred }

/// <summary>
/// Grants for payments (api.md §5.6 "Idempotency"): idempotent by operation id, tried three times, then recorded in
/// sync_failure (provider internal) with what to write in payments.grant_retry, for <see cref="SyncFailureRetrier"/>.
/// If even that record cannot be written the exception goes to the caller, whose webhook then answers 500 so Stripe
/// delivers the event again.
/// </summary>
public sealed class PaymentGrants(IServiceScopeFactory scopes, Orgs.OrgAlerts alerts, ILogger<PaymentGrants> log)
{
    public const int InlineAttempts = 3;

    public async Task<GrantOutcome> GrantAsync(PaidGrant grant, CancellationToken ct)
    {
        Exception? last = null;
        for (var attempt = 1; attempt <= InlineAttempts; attempt++)
        {
            try
            {
                if (!await TryOnceAsync(grant, ct)) return GrantOutcome.AlreadyGranted;
                // A payment that went through re-arms an org's payment alerts (and may lift its balance back over the threshold).
                await alerts.PaymentSucceededAsync(grant.Owner, ct);
                return GrantOutcome.Granted;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                last = e;
                log.LogWarning("grant {OperationId} failed (attempt {Attempt} of {Attempts}): {Error}", grant.OperationId, attempt, InlineAttempts, e.GetBaseException().Message);
                if (attempt < InlineAttempts) await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
            }
        }
        var error = last!.GetBaseException().Message;
        await DeferAsync(grant, error, ct);
        log.LogError("grant {OperationId} of {Credits} credits deferred to sync_failure: {Error}", grant.OperationId, grant.Credits, error);
        return GrantOutcome.Deferred;
    }

    /// <summary>One attempt in a fresh scope (a failed DbContext is not reused); false when the grant exists already.</summary>
    internal async Task<bool> TryOnceAsync(PaidGrant grant, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
        var result = await ledger.GrantAsync(grant.Owner, grant.OperationId, grant.PayerUserId, grant.Credits, grant.Type, grant.Description, null, ct);
        return result.Created;
    }

    async Task DeferAsync(PaidGrant grant, string error, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO payments.grant_retry (operation_id, user_id, org_id, credits, grant_type, description)
            VALUES ({grant.OperationId}, {grant.PayerUserId}, {grant.OrgId}, {grant.Credits}, {grant.Type.ToString()}, {grant.Description})
            ON CONFLICT (operation_id) DO NOTHING
            """, ct);
        await SyncFailures.RecordAsync(db, grant.OperationId, SyncFailures.Internal, error, ct);
        await tx.CommitAsync(ct);
    }
}
