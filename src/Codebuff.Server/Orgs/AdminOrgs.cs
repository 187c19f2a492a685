using Codebuff.Server.Billing;

namespace Codebuff.Server.Orgs;

/// <summary>Every organization with the figures a site admin watches (§1.8 /admin/orgs).</summary>
public static class AdminOrgs
{
    public enum Health { Healthy, Warning, Critical }

    public sealed record Row(string Id, string Name, string Slug, string? OwnerName, string? OwnerEmail, int Members, int Repos,
        int Balance, int UsageThisCycle, int? CreditLimit, Health Health, DateTime CreatedAt, DateTime? LastActivity);

    /// <summary>
    /// Newest first. Health: critical when the org cannot pay (no credits, or its monthly limit reached), warning when
    /// its balance is below <see cref="OrgUsageReport.LowBalance"/> or 80 % of its limit is used, else healthy.
    /// </summary>
    public static async Task<List<Row>> ListAsync(AppDbContext db, CreditLedger ledger, OrgBilling billing, CancellationToken ct)
    {
        var orgs = await db.Orgs.AsNoTracking().OrderByDescending(o => o.CreatedAt).ThenBy(o => o.Id).Select(o => new
        {
            Org = o,
            Owner = db.Users.Where(u => u.Id == o.OwnerId).Select(u => new { u.Name, u.Email }).FirstOrDefault(),
            Members = db.OrgMembers.Count(m => m.OrgId == o.Id),
            Repos = db.OrgRepos.Count(r => r.OrgId == o.Id && r.IsActive),
            LastActivity = db.Messages.Where(m => m.OrgId == o.Id).Max(m => (DateTime?)m.FinishedAt),
        }).ToListAsync(ct);
        var rows = new List<Row>(orgs.Count);
        foreach (var o in orgs)
        {
            var balance = (await ledger.GetBalanceAsync(LedgerOwner.Org(o.Org.Id), ct)).NetBalance;
            var used = await billing.UsageThisCycleAsync(o.Org, ct);
            var limit = o.Org.CreditLimit;
            var health = balance <= 0 || used >= limit ? Health.Critical
                : balance < OrgUsageReport.LowBalance || used >= limit * 0.8 ? Health.Warning : Health.Healthy;
            rows.Add(new Row(o.Org.Id, o.Org.Name, o.Org.Slug, o.Owner?.Name, o.Owner?.Email, o.Members, o.Repos, balance, used, limit, health,
                o.Org.CreatedAt, o.LastActivity));
        }
        return rows;
    }
}
