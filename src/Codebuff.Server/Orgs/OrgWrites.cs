using Codebuff.Server.Billing;
using Codebuff.Server.Payments;

namespace Codebuff.Server.Orgs;

/// <summary>Creating, renaming and deleting an org: POST/PATCH/DELETE /api/orgs… and the dashboard's forms both call these.</summary>
public static class OrgWrites
{
    /// <summary>Defaults of a new org (api.md §5.5): auto top-up on, 20000 credits when the balance falls to 5000.</summary>
    public const int DefaultTopupAmount = 20000, DefaultTopupThreshold = 5000;

    public const string OnlyOwnersDelete = "Only organization owners can delete organizations";

    /// <summary>A new org owned by <paramref name="owner"/>, with a unique slug derived from its name.</summary>
    public static async Task<(Org? Org, Refusal? Refusal)> CreateAsync(AppDbContext db, StripeCustomers customers, TimeProvider clock,
        User owner, string? name, string? description, CancellationToken ct)
    {
        if (OrgNames.Error(name) is { } nameError) return (null, new(400, nameError));
        name = name!.Trim();
        var baseSlug = OrgNames.BaseSlug(name);

        // Two creators of the same name may race for a slug; the unique constraint decides and the loser takes the next.
        for (var attempt = 0; ; attempt++)
        {
            var taken = (await db.Orgs.Where(o => o.Slug == baseSlug || o.Slug.StartsWith(baseSlug + "-")).Select(o => o.Slug).ToListAsync(ct)).ToHashSet();
            var now = clock.GetUtcNow().UtcDateTime;
            var org = new Org
            {
                Id = Guid.NewGuid().ToString(), Name = name, Slug = OrgNames.FirstFree(baseSlug, taken),
                Description = description, OwnerId = owner.Id,
                AutoTopupEnabled = true, AutoTopupAmount = DefaultTopupAmount, AutoTopupThreshold = DefaultTopupThreshold,
                CreatedAt = now, UpdatedAt = now,
            };
            db.Orgs.Add(org);
            db.OrgMembers.Add(new OrgMember { OrgId = org.Id, UserId = owner.Id, Role = OrgRole.Owner, JoinedAt = now });
            try
            {
                await db.SaveChangesAsync(ct);
                // api.md §5.5: the org's Stripe customer when Stripe is configured; a failure is recorded for retry.
                org.StripeCustomerId = await customers.EnsureForOrgAsync(db, org.Id, ct);
                return (org, null);
            }
            catch (DbUpdateException e) when (attempt < 5 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    /// <summary>
    /// Name and description (the keys present in <paramref name="body"/>). [our choice] a new name follows the creation
    /// rules; the slug stays, so links keep working.
    /// </summary>
    public static async Task<Refusal?> UpdateAsync(OrgCaller caller, JsonObject body, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Admin) is { } refusal) return refusal;
        var changes = new OrgChanges();
        if ((changes.Text(body, "name", required: false) ?? changes.Text(body, "description", required: false)) is { } problem) return new(400, problem);
        return await changes.ApplyAsync(caller, db, clock, ct) ? null : new(404, OrgAccess.NotFound);
    }

    /// <summary>
    /// PATCH /api/orgs/{orgId}/settings and the settings page's switches. [our choice] upstream stores whatever it is
    /// sent; we check each key's type and range and change nothing on an error. The auto top-up keys charge the org's
    /// card, so — like buying credits — only owners may send them (admins keep the other settings), and amount and
    /// threshold are bounded (<see cref="AutoTopUpLimits"/>).
    /// </summary>
    public static async Task<Refusal?> UpdateSettingsAsync(OrgCaller caller, JsonObject body, AppDbContext db, AutoTopUpLimits limits, TimeProvider clock,
        OrgAlerts alerts, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Admin) is { } notAdmin) return notAdmin;
        if (!caller.IsOwner && OrgChanges.CardSettings.Any(body.ContainsKey)) return new(403, OrgEndpoints.OnlyOwnersChargeCards);
        var owner = LedgerOwner.Org(caller.OrgId);
        var c = new OrgChanges();
        var problem = c.Text(body, "name", false) ?? c.Text(body, "description", false)
            ?? c.Flag(body, "autoTopupEnabled") ?? c.Flag(body, "billingAlerts") ?? c.Flag(body, "usageAlerts") ?? c.Flag(body, "weeklyReports")
            ?? c.Number(body, "autoTopupThreshold", 0, nullable: false, max: limits.MaxThreshold(owner))
            ?? c.Number(body, "autoTopupAmount", AutoTopUpLimits.MinimumAmount, nullable: false, max: limits.MaxAmount(owner))
            ?? c.Number(body, "creditLimit", 0, nullable: true);
        if (problem is not null) return new(400, problem);
        if (!await c.ApplyAsync(caller, db, clock, ct)) return new(404, "Organization not found");
        // Turning auto top-up on is the admin's answer to whatever switched it off.
        if (c.EnablesAutoTopup) await AutoTopUp.ClearBlockAsync(db, owner, ct);
        // A new threshold, credit limit or switch can raise or clear an alert without any charge.
        alerts.Nudge(owner);
        return null;
    }

    /// <summary>
    /// Deletes the org and, by cascade, its members, invitations, repositories, features, credits and the org link of
    /// its messages. [our choice] publishers do not cascade (api.md §8 item 18), so an org that owns any is refused
    /// with a clear 409 instead of upstream's 500.
    /// </summary>
    public static async Task<Refusal?> DeleteAsync(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Owner, OnlyOwnersDelete) is { } refusal) return refusal;
        var publishers = await db.Publishers.Where(p => p.OrgId == caller.OrgId).Select(p => p.Id).OrderBy(p => p).ToListAsync(ct);
        if (publishers.Count > 0)
            return new(409, $"This organization still owns publishers ({string.Join(", ", publishers)}); they must be removed before the organization can be deleted");
        var owned = OrgAccess.OwnedBy(db, caller.User.Id);
        var deleted = await db.Orgs.Where(o => o.Id == caller.OrgId && owned.Contains(o.Id)).ExecuteDeleteAsync(ct);
        return deleted == 1 ? null : new(403, OnlyOwnersDelete);
    }
}
