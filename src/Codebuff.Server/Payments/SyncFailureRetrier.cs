using Codebuff.Server.Billing;

namespace Codebuff.Server.Payments;

/// <summary>
/// Retries sync_failure rows in the background until they succeed: grants owed for money that moved (provider
/// internal, with their payments.grant_retry row) and Stripe customers that could not be created (provider stripe).
/// A row is due when last_attempt_at is older than the interval doubled per earlier attempt; the partial index
/// idx_sync_failure_retry (retry_count &lt; 5) serves the query. After five failures a row stays for an operator.
/// Rows of other providers (billing's refused charges) are operator-only and left alone.
/// </summary>
public sealed class SyncFailureRetrier(IServiceScopeFactory scopes, IOptions<StripeOptions> options, TimeProvider clock, ILogger<SyncFailureRetrier> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.RetryIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                await RetryDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
            catch (Exception e)
            {
                log.LogWarning("sync_failure retry pass failed: {Error}", e.Message);
            }
        }
    }

    /// <summary>One pass over the rows that are due; returns how many were resolved.</summary>
    public async Task<int> RetryDueAsync(CancellationToken ct)
    {
        var interval = options.Value.RetryIntervalSeconds;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var due = await db.SyncFailures.FromSql($"""
            SELECT * FROM sync_failure
            WHERE retry_count < {SyncFailures.MaxRetries} AND provider IN ({SyncFailures.Stripe}, {SyncFailures.Internal})
              AND last_attempt_at <= now() - make_interval(secs => {interval} * power(2, retry_count - 1))
            ORDER BY retry_count, last_attempt_at LIMIT 100
            """).AsNoTracking().ToListAsync(ct);
        var resolved = 0;
        foreach (var row in due)
        {
            try
            {
                if (await RetryAsync(scope.ServiceProvider, db, row, ct)) resolved++;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogWarning("retry of {Id} ({Provider}) failed: {Error}", row.Id, row.Provider, e.GetBaseException().Message);
                await using var fresh = scopes.CreateAsyncScope();
                await SyncFailures.RecordAsync(fresh.ServiceProvider.GetRequiredService<AppDbContext>(), row.Id, row.Provider, e.GetBaseException().Message, ct);
            }
        }
        return resolved;
    }

    async Task<bool> RetryAsync(IServiceProvider services, AppDbContext db, SyncFailure row, CancellationToken ct)
    {
        if (row.Provider == SyncFailures.Internal)
        {
            var pending = await db.Database.SqlQuery<GrantRetryRow>($"""
                SELECT operation_id AS "OperationId", user_id AS "UserId", org_id AS "OrgId", credits AS "Credits", grant_type AS "GrantType", description AS "Description"
                FROM payments.grant_retry WHERE operation_id = {row.Id}
                """).FirstOrDefaultAsync(ct);
            if (pending is null) return false; // recorded for an operator, nothing to replay
            var grant = new PaidGrant(pending.OperationId, pending.UserId, pending.OrgId, pending.Credits, Enum.Parse<GrantType>(pending.GrantType), pending.Description);
            await services.GetRequiredService<PaymentGrants>().TryOnceAsync(grant, ct);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await db.Database.ExecuteSqlAsync($"DELETE FROM payments.grant_retry WHERE operation_id = {row.Id}", ct);
            await SyncFailures.ResolvedAsync(db, row.Id, ct);
            await tx.CommitAsync(ct);
            log.LogInformation("deferred grant {OperationId} written", row.Id);
            return true;
        }
        if (row.Provider == SyncFailures.Stripe)
        {
            var customers = services.GetRequiredService<StripeCustomers>();
            // The row's id is the owner; the Ensure call records a new failure itself, or clears the row.
            var id = await db.Users.AnyAsync(u => u.Id == row.Id, ct) ? await customers.EnsureForUserAsync(db, row.Id, ct)
                : await db.Orgs.AnyAsync(o => o.Id == row.Id, ct) ? await customers.EnsureForOrgAsync(db, row.Id, ct) : null;
            if (id is null) return false;
            await SyncFailures.ResolvedAsync(db, row.Id, ct);
            return true;
        }
        return false;
    }

    sealed record GrantRetryRow(string OperationId, string UserId, string? OrgId, int Credits, string GrantType, string Description);
}
