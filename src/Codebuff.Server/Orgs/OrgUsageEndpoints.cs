using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Payments;
using Microsoft.EntityFrameworkCore;
using static Codebuff.Server.Orgs.OrgAccess;
using Codebuff.Server.Hosting;

using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>
/// GET /api/orgs/{orgId}/usage (api.md §5.5): balance, this cycle's spend, the top spenders and the latest billed
/// calls (Orgs/OrgUsageQueries.cs: exact, from the rollup and the cycle's partial days). [our choice] works without
/// Stripe: upstream answers 500 unless the org has an active subscription.
/// </summary>
public static class OrgUsageEndpoints
{
    public static void Map(RouteGroupBuilder org) => org.MapGet("/usage", Get).Answers<Usage>().Refuses(404);

    static async Task<IResult> Get(OrgCaller caller, AppDbContext db, CreditLedger ledger, OrgBilling billing, AutoTopUp autoTopUp, CancellationToken ct)
    {
        var org = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == caller.OrgId, ct);
        if (org is null) return Errors.Error(404, "Organization not found");
        // A usage read evaluates org auto top-up first (api.md §7.9), so the balance shown includes it.
        await autoTopUp.RunAsync(LedgerOwner.Org(org.Id), ct);
        var balance = await ledger.GetBalanceAsync(LedgerOwner.Org(org.Id), ct);
        var (start, end) = billing.Cycle(org);
        var messages = billing.CycleMessages(org);

        var spend = await OrgUsageQueries.SpendByMemberAsync(db, org.Id, start, end, ct);
        var recent = await OrgUsageQueries.RecentAsync(db, messages, 50, ct);

        return Results.Json(new
        {
            currentBalance = balance.NetBalance,
            usageThisCycle = spend.Sum(t => t.Credits),
            cycleStartDate = start,
            cycleEndDate = end,
            topUsers = spend.Take(10).Select(t => new { user_id = t.UserId, user_name = t.Name, user_email = t.Email, credits_used = t.Credits }),
            recentUsage = recent.Select(r => new { date = r.FinishedAt, credits_used = r.Credits, repository_url = r.RepoUrl, user_name = r.Name }),
        });
    }
}
