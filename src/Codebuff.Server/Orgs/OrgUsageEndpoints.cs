using Codebuff.Server.Billing;
using Codebuff.Server.Payments;
using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>
/// GET /api/orgs/{orgId}/usage (api.md §5.5): balance, this cycle's spend, the top spenders and the latest billed
/// calls (<see cref="OrgUsageReport"/>). [our choice] works without Stripe: upstream answers 500 unless the org has an
/// active subscription. GET …/usage/export: the cycle's calls as {slug}-usage-{date}.csv (§1.6).
/// </summary>
public static class OrgUsageEndpoints
{
    public static void Map(RouteGroupBuilder org)
    {
        org.MapGet("/usage", Get).Answers<Usage>().Refuses(404);
        org.MapGet("/usage/export", Export).Produces<string>(StatusCodes.Status200OK, "text/csv").Refuses(404);
    }

    static async Task<Results<Ok<Usage>, ErrorResult>> Get(OrgCaller caller, AppDbContext db, CreditLedger ledger, OrgBilling billing, AutoTopUp autoTopUp, CancellationToken ct)
    {
        if (await OrgUsageReport.ReadAsync(caller.OrgId, 50, db, ledger, billing, autoTopUp, ct) is not { } usage) return Errors.Error(404, OrgAccess.NotFound);
        return TypedResults.Ok(new Usage(usage.CurrentBalance, usage.UsageThisCycle, usage.CycleStart, usage.CycleEnd,
            usage.Spend.Take(10).Select(t => new TopUser(t.UserId, t.Name, t.Email, t.Credits)),
            usage.Recent.Select(r => new RecentUsage(r.FinishedAt, r.Credits, r.RepoUrl, r.Name))));
    }

    static async Task<Results<PushStreamHttpResult, ErrorResult>> Export(OrgCaller caller, AppDbContext db, OrgBilling billing, TimeProvider clock, CancellationToken ct)
    {
        if (await db.Orgs.FindAsync([caller.OrgId], ct) is not { } org) return Errors.Error(404, OrgAccess.NotFound);
        var name = $"{org.Slug}-usage-{clock.GetUtcNow():yyyy-MM-dd}.csv";
        return TypedResults.Stream(stream => OrgUsageReport.WriteCsvAsync(stream, billing.CycleMessages(org), db, ct), "text/csv; charset=utf-8", name);
    }
}
