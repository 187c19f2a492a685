using Codebuff.Server.Billing;

namespace Codebuff.Server.Orgs;

/// <summary>
/// Which calls an organization pays for, and whether it can (api.md §7.9). The chat proxy and the search tools ask
/// <see cref="PayerAsync"/> with the request's repository URL: when it names an active repository of an org the caller
/// belongs to, that org is charged (its grants, its ledger lock) and the message row records org and repository;
/// otherwise the caller pays personally. An org that cannot pay refuses the call — it never falls back to the
/// member's own credits.
/// </summary>
public sealed class OrgBilling(AppDbContext db, TimeProvider clock)
{
    public const string InsufficientCredits = "Insufficient organization credits";
    public const string LimitReached = "Organization monthly credit limit reached";

    /// <summary>The paying org and the repository (normal form) the call is billed under.</summary>
    public sealed record Payer(string OrgId, string RepoUrl);

    /// <summary>
    /// The org paying for this user's work on this repository, or null (personal). Matching compares the normal form
    /// <c>https://host/owner/repo</c>, so [our choice] the host counts too: upstream compares only owner and name,
    /// which would bill github.com/acme/app work to an org that approved gitlab.com/acme/app. With several matching
    /// orgs, the repository approved first wins.
    /// </summary>
    public async Task<Payer?> PayerAsync(string userId, string? repoUrl, CancellationToken ct)
    {
        if (RepoUrls.Parse(repoUrl) is not { } repo) return null;
        var url = repo.Url;
        var orgId = await db.OrgRepos
            .Where(r => r.RepoUrl == url && r.IsActive && db.OrgMembers.Any(m => m.OrgId == r.OrgId && m.UserId == userId))
            .OrderBy(r => r.ApprovedAt).ThenBy(r => r.Id).Select(r => r.OrgId).FirstOrDefaultAsync(ct);
        return orgId is null ? null : new Payer(orgId, url);
    }

    /// <summary>
    /// Whether the org's monthly credit_limit leaves no room for another call: its spend this cycle (from the rollups,
    /// <see cref="UsageThisCycleAsync"/>) plus <paramref name="required"/> credits (at least 1) would pass the limit.
    /// The org's balance, less the credits its calls in flight hold, is checked by the gate that takes a call's hold
    /// (Ledger/Reservations.cs). [our choice] the limit counts billed calls only, not holds.
    /// </summary>
    public async Task<bool> LimitReachedAsync(string orgId, CancellationToken ct, int required = 0)
    {
        var org = await db.Orgs.AsNoTracking().FirstAsync(o => o.Id == orgId, ct);
        return org.CreditLimit is { } limit && await UsageThisCycleAsync(org, ct) + Math.Max(required, 1) > limit;
    }

    /// <summary>
    /// The org's billing cycle: its Stripe subscription period while one is current, else the calendar month (UTC).
    /// </summary>
    public (DateTime Start, DateTime End) Cycle(Org org)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (org.CurrentPeriodStart is { } s && org.CurrentPeriodEnd is { } e && s <= now && now < e) return (s, e);
        var start = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        return (start, start.AddMonths(1));
    }

    /// <summary>Messages billed to the org in this cycle; BYOK calls are recorded but cost the org nothing.</summary>
    public IQueryable<Message> CycleMessages(Org org)
    {
        var (start, end) = Cycle(org);
        return db.Messages.Where(m => m.OrgId == org.Id && !m.Byok && m.FinishedAt >= start && m.FinishedAt < end);
    }

    /// <summary>
    /// Credits billed to the org this cycle, from rollup.org_user_day plus the partial days' messages
    /// (<see cref="OrgUsageQueries"/>): no scan of the cycle's messages, however many calls the org makes.
    /// </summary>
    public async Task<int> UsageThisCycleAsync(Org org, CancellationToken ct)
    {
        var (start, end) = Cycle(org);
        return (int)Math.Min(int.MaxValue, await OrgUsageQueries.TotalSpendAsync(db, org.Id, start, end, ct));
    }
}
