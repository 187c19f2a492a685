using Stripe;

namespace Codebuff.Server.Payments;

/// <summary>
/// One Stripe customer per user (metadata user_id) and per organization (metadata organization_id, type organization),
/// created on first need: sign-up (every user-creating path calls <see cref="EnsureForUserAsync"/> once the user row is
/// committed), organization creation, or the first purchase. Stripe's idempotency key is the owner's id, so a retry
/// after a lost answer finds the same customer instead of making a second one. A Stripe failure never fails the caller:
/// it is recorded in sync_failure (id = the user or org id, provider stripe) and retried by
/// <see cref="SyncFailureRetrier"/>. Without a Stripe key nothing is created and nothing is recorded.
/// </summary>
public sealed class StripeCustomers(StripePayments stripe, ILogger<StripeCustomers> log)
{
    /// <summary>
    /// The user's customer id, creating it if needed; null when Stripe is not configured, or when Stripe failed (then
    /// recorded for retry). Sign-up calls this after committing the user, so a Stripe outage costs it nothing but a row.
    /// </summary>
    public async Task<string?> EnsureForUserAsync(AppDbContext db, string userId, CancellationToken ct)
    {
        if (!stripe.Configured) return null;
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => new { u.StripeCustomerId, u.Email, u.Name }).FirstAsync(ct);
        if (user.StripeCustomerId is not null) return user.StripeCustomerId;
        var id = await CreateAsync(db, userId, user.Email, user.Name, new() { ["user_id"] = userId }, $"customer-user-{userId}", ct);
        if (id is null) return null;
        await db.Users.Where(u => u.Id == userId && u.StripeCustomerId == null).ExecuteUpdateAsync(s => s.SetProperty(u => u.StripeCustomerId, id), ct);
        return await db.Users.Where(u => u.Id == userId).Select(u => u.StripeCustomerId).FirstAsync(ct);
    }

    public async Task<string?> EnsureForOrgAsync(AppDbContext db, string orgId, CancellationToken ct)
    {
        if (!stripe.Configured) return null;
        var org = await db.Orgs.AsNoTracking().Where(o => o.Id == orgId).Select(o => new { o.StripeCustomerId, o.Name }).FirstAsync(ct);
        if (org.StripeCustomerId is not null) return org.StripeCustomerId;
        var id = await CreateAsync(db, orgId, null, org.Name, new() { ["organization_id"] = orgId, ["type"] = "organization" }, $"customer-org-{orgId}", ct);
        if (id is null) return null;
        await db.Orgs.Where(o => o.Id == orgId && o.StripeCustomerId == null).ExecuteUpdateAsync(s => s.SetProperty(o => o.StripeCustomerId, id), ct);
        return await db.Orgs.Where(o => o.Id == orgId).Select(o => o.StripeCustomerId).FirstAsync(ct);
    }

    async Task<string?> CreateAsync(AppDbContext db, string ownerId, string? email, string? name, Dictionary<string, string> metadata, string key, CancellationToken ct)
    {
        // Stripe keeps an idempotency key's first answer, failures included, so each recorded failure starts a new key;
        // within one attempt (Stripe.net's own network retries) the key still prevents a second customer.
        var attempt = await db.SyncFailures.Where(f => f.Id == ownerId).Select(f => f.RetryCount).FirstOrDefaultAsync(ct);
        try
        {
            var id = await stripe.CreateCustomerAsync(email, name, metadata, $"{key}-{attempt}", ct);
            await SyncFailures.ResolvedAsync(db, ownerId, ct);
            return id;
        }
        catch (Exception e) when (e is StripeException or HttpRequestException or IOException || e is TaskCanceledException && !ct.IsCancellationRequested)
        {
            log.LogWarning("creating the Stripe customer of {Owner} failed: {Error}", ownerId, e.Message);
            await SyncFailures.RecordAsync(db, ownerId, SyncFailures.Stripe, $"Stripe customer creation failed: {e.Message}", ct);
            return null;
        }
    }
}
