using System.Text;
using Codebuff.Server.Billing;
using Codebuff.Server.Payments;

namespace Codebuff.Server.Orgs;

/// <summary>
/// An org's usage as GET /api/orgs/{orgId}/usage answers it and the usage page shows it: balance, this cycle's spend
/// per member (Orgs/OrgUsageQueries.cs) and the latest billed calls; plus the cycle's calls as CSV for the export.
/// </summary>
public sealed record OrgUsageReport(Org Org, int CurrentBalance, long UsageThisCycle, DateTime CycleStart, DateTime CycleEnd,
    List<OrgUsageQueries.MemberSpend> Spend, List<OrgUsageQueries.RecentCall> Recent)
{
    /// <summary>Below this balance the dashboard warns that the org is running low.</summary>
    public const int LowBalance = 1000;

    public static async Task<OrgUsageReport?> ReadAsync(string orgId, int recentCount, AppDbContext db, CreditLedger ledger, OrgBilling billing,
        AutoTopUp autoTopUp, CancellationToken ct)
    {
        var org = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == orgId, ct);
        if (org is null) return null;
        // A usage read evaluates org auto top-up first (api.md §7.9), so the balance shown includes it.
        await autoTopUp.RunAsync(LedgerOwner.Org(org.Id), ct);
        var balance = await ledger.GetBalanceAsync(LedgerOwner.Org(org.Id), ct);
        var (start, end) = billing.Cycle(org);
        var spend = await OrgUsageQueries.SpendByMemberAsync(db, org.Id, start, end, ct);
        var recent = await OrgUsageQueries.RecentAsync(db, billing.CycleMessages(org), recentCount, ct);
        return new(org, balance.NetBalance, spend.Sum(t => t.Credits), start, end, spend, recent);
    }

    public const string CsvHeader = "date,user_name,user_email,repository_url,model,credits";

    /// <summary>Every billed call of the org's current cycle, newest first, streamed as CSV (RFC 4180).</summary>
    public static async Task WriteCsvAsync(Stream output, IQueryable<Message> cycleMessages, AppDbContext db, CancellationToken ct)
    {
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true);
        await writer.WriteAsync(CsvHeader + "\n");
        var rows = cycleMessages.OrderByDescending(m => m.FinishedAt).ThenBy(m => m.Id)
            .Select(m => new { m.FinishedAt, m.RepoUrl, m.Model, m.Credits, User = db.Users.Where(u => u.Id == m.UserId).Select(u => new { u.Name, u.Email }).FirstOrDefault() })
            .AsAsyncEnumerable();
        await foreach (var r in rows.WithCancellation(ct))
            await writer.WriteAsync(string.Join(',', Cell(OrgJson.Time(r.FinishedAt)), Cell(r.User?.Name), Cell(r.User?.Email), Cell(r.RepoUrl), Cell(r.Model),
                r.Credits.ToString(System.Globalization.CultureInfo.InvariantCulture)) + "\n");
    }

    /// <summary>A quoted cell; a leading = + - @ is defused so a spreadsheet does not run a name as a formula.</summary>
    static string Cell(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        if (text[0] is '=' or '+' or '-' or '@') text = "'" + text;
        return '"' + text.Replace("\"", "\"\"") + '"';
    }
}
