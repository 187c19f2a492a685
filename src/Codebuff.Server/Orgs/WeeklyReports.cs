using System.Globalization;
using System.Text;
using Codebuff.Server.Billing;

namespace Codebuff.Server.Orgs;

/// <summary>
/// The weekly report of an org with weekly_reports on: on Monday (UTC), an e-mail to its owners and admins with the
/// past week's (Monday to Sunday) credits used, billed calls and agent runs, top members and top repositories.
/// Once per org per week across instances: the sending instance first claims (org, week) in service.org_weekly_report;
/// if no e-mail could be sent at all, the claim is given back so a later sweep of the same Monday tries again.
/// [our choice] only on Monday: a report not sent that day (every instance down) is skipped, not sent mid-week.
/// </summary>
public sealed class WeeklyReports(IServiceScopeFactory scopes, IEmailSender email, IOptions<CodebuffOptions> options, TimeProvider clock,
    ILogger<WeeklyReports> log)
{
    public const int TopCount = 5;

    public sealed record Report(long CreditsUsed, int Calls, int Runs, List<OrgUsageQueries.MemberSpend> TopUsers, List<(string Repo, long Credits)> TopRepos);

    /// <summary>Monday 00:00 UTC of the week <paramref name="now"/> falls in.</summary>
    public static DateTime WeekStart(DateTime now) => now.Date.AddDays(-(((int)now.DayOfWeek + 6) % 7));

    public async Task SendDueAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var thisWeek = DateTime.SpecifyKind(WeekStart(now), DateTimeKind.Utc);
        if (now >= thisWeek.AddDays(1)) return;
        var week = DateOnly.FromDateTime(thisWeek.AddDays(-7));
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
        var due = await db.Database.SqlQuery<string>($"""
            SELECT o.id AS "Value" FROM org o
            WHERE o.weekly_reports AND o.created_at < {thisWeek}
              AND NOT EXISTS (SELECT 1 FROM service.org_weekly_report r WHERE r.org_id = o.id AND r.week_start = {week})
            ORDER BY o.id
            """).ToListAsync(ct);
        foreach (var orgId in due)
        {
            var claimed = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO service.org_weekly_report (org_id, week_start, claimed_at) VALUES ({orgId}, {week}, {now}) ON CONFLICT DO NOTHING
                """, ct);
            if (claimed == 0) continue;
            if (!await SendAsync(db, ledger, orgId, thisWeek.AddDays(-7), thisWeek, ct))
                await db.Database.ExecuteSqlAsync($"DELETE FROM service.org_weekly_report WHERE org_id = {orgId} AND week_start = {week}", ct);
        }
    }

    /// <summary>Builds and sends one report; false when no recipient got it (so it may be tried again).</summary>
    async Task<bool> SendAsync(AppDbContext db, CreditLedger ledger, string orgId, DateTime start, DateTime end, CancellationToken ct)
    {
        var org = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == orgId, ct);
        // The switch is read again just before sending: turned off since the list was read, nothing goes.
        if (org is not { WeeklyReports: true }) return true;
        var report = await BuildAsync(db, orgId, start, end, ct);
        var balance = (await ledger.GetBalanceAsync(LedgerOwner.Org(orgId), ct)).NetBalance;
        var subject = $"{org.Name}: weekly report {Day(start)} to {Day(end.AddDays(-1))}";
        var text = Text(org, report, balance, start, end);
        var sent = 0;
        var recipients = await OrgAlerts.Managers(db, orgId).ToListAsync(ct);
        foreach (var to in recipients)
        {
            try
            {
                await email.SendAsync(new EmailMessage(to, subject, text), ct);
                sent++;
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                log.LogWarning("weekly report of org {Org} not e-mailed to a manager: {Error}", orgId, e.Message);
            }
        }
        return sent > 0 || recipients.Count == 0;
    }

    /// <summary>The org's billed usage in [start, end): from the rollups, the message rows and their trace steps.</summary>
    public static async Task<Report> BuildAsync(AppDbContext db, string orgId, DateTime start, DateTime end, CancellationToken ct)
    {
        var total = await OrgUsageQueries.TotalSpendAsync(db, orgId, start, end, ct);
        var users = (await OrgUsageQueries.SpendByMemberAsync(db, orgId, start, end, ct)).Take(TopCount).ToList();
        var messages = db.Messages.Where(m => m.OrgId == orgId && !m.Byok && m.FinishedAt >= start && m.FinishedAt < end);
        var calls = await messages.CountAsync(ct);
        var repos = (await messages.Where(m => m.RepoUrl != null).GroupBy(m => m.RepoUrl!)
                .Select(g => new { Repo = g.Key, Credits = g.Sum(m => (long)m.Credits) })
                .OrderByDescending(r => r.Credits).ThenBy(r => r.Repo).Take(TopCount).ToListAsync(ct))
            .Select(r => (r.Repo, r.Credits)).ToList();
        var runs = await db.Database.SqlQueryRaw<int>("""
            SELECT count(DISTINCT t.run_id)::int AS "Value" FROM message m JOIN service.trace_step t ON t.message_id = m.id
            WHERE m.org_id = @org AND NOT m.byok AND m.finished_at >= @start AND m.finished_at < @end
            """, OrgUsageQueries.SpendParameters(orgId, start, end)).SingleAsync(ct);
        return new Report(total, calls, runs, users, repos);
    }

    string Text(Org org, Report r, int balance, DateTime start, DateTime end)
    {
        var n = CultureInfo.InvariantCulture;
        var t = new StringBuilder();
        t.AppendLine(n, $"Weekly report for {org.Name}, {Day(start)} to {Day(end.AddDays(-1))} (UTC)");
        t.AppendLine();
        t.AppendLine(n, $"Credits used: {r.CreditsUsed:N0}");
        t.AppendLine(n, $"Billed calls: {r.Calls:N0}");
        t.AppendLine(n, $"Agent runs: {r.Runs:N0}");
        t.AppendLine();
        t.AppendLine("Top users:");
        if (r.TopUsers.Count == 0) t.AppendLine("  (none)");
        foreach (var u in r.TopUsers) t.AppendLine(n, $"  {u.Name ?? u.Email ?? u.UserId} ({u.Email}): {u.Credits:N0} credits");
        t.AppendLine();
        t.AppendLine("Top repositories:");
        if (r.TopRepos.Count == 0) t.AppendLine("  (none)");
        foreach (var (repo, credits) in r.TopRepos) t.AppendLine(n, $"  {repo}: {credits:N0} credits");
        t.AppendLine();
        t.AppendLine(n, $"Balance now: {balance:N0} credits.");
        t.AppendLine(n, $"Usage: {options.Value.AppUrl.TrimEnd('/')}/orgs/{org.Slug}/usage");
        t.AppendLine();
        t.AppendLine("You receive this as an owner or admin of the organization; its settings page turns weekly reports off.");
        return t.ToString();
    }

    static string Day(DateTime d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
