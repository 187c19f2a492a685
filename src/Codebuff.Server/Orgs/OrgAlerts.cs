using System.Collections.Concurrent;
using System.Globalization;
using Codebuff.Server.Billing;

namespace Codebuff.Server.Orgs;

/// <summary>
/// An org's billing and usage alerts (service.org_alert). Each alert is one event: raising inserts a row unless one
/// is open for the same org, kind and episode (a partial unique index, so any number of instances raise it once), and
/// only the instance whose insert landed e-mails the org's owners and admins. Clearing the open row when the
/// condition no longer holds re-arms it: balance back at the threshold (or auto top-up on), a successful payment for
/// the payment alerts, a new billing cycle (the episode) or a usage back under the mark for the usage alerts.
/// Conditions are evaluated per org under an advisory lock, so a stale evaluation cannot raise what another has just
/// cleared. Evaluated after charges (<see cref="Nudge"/>, through the auto top-up hook), settings changes and paid
/// grants; the payment alerts are raised where the payment fails (<see cref="PaymentFailedAsync"/>); and
/// <see cref="OrgAlertSweeper"/> re-evaluates orgs with open alerts. A switch that is off raises nothing and hides its
/// open alerts at once. Alert work never fails the charge or payment that triggered it: errors are logged.
/// </summary>
public sealed class OrgAlerts(IServiceScopeFactory scopes, IEmailSender email, IOptions<CodebuffOptions> options, TimeProvider clock, ILogger<OrgAlerts> log)
{
    public const string NotFound = "Alert not found";

    public sealed record Raised(string OrgId, string Kind, string Title, string Message);

    /// <summary>One alert as the API answers it (upstream's shape).</summary>
    public sealed record View(Guid Id, string Kind, string Severity, string Title, string Message, DateTime CreatedAt);

    // Orgs with an evaluation queued but not started: further nudges meanwhile are covered by it.
    readonly ConcurrentDictionary<string, byte> _queued = new();

    /// <summary>After a charge (or a grant, or a settings change): evaluates the org's conditions in the background.</summary>
    public void Nudge(LedgerOwner owner)
    {
        if (owner.OrgId is not { } orgId || !_queued.TryAdd(orgId, 0)) return;
        _ = Task.Run(async () =>
        {
            _queued.TryRemove(orgId, out _);
            await EvaluateAsync(orgId, CancellationToken.None);
        });
    }

    /// <summary>Raises or clears the balance and usage alerts of the org as its state says, then sends what was raised.</summary>
    public async Task EvaluateAsync(string orgId, CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
            var billing = scope.ServiceProvider.GetRequiredService<OrgBilling>();
            var raised = new List<Raised>();
            await using (var tx = await db.Database.BeginTransactionAsync(ct))
            {
                var org = await LockAsync(db, orgId, ct);
                if (org is null) return;
                var balance = (await ledger.GetBalanceAsync(LedgerOwner.Org(orgId), ct)).NetBalance;
                var threshold = Threshold(org);
                if (!org.AutoTopupEnabled && balance < threshold)
                {
                    if (org.BillingAlerts)
                        await RaiseAsync(db, org, OrgAlertKind.LowBalance, "", "warning", "Low Credit Balance",
                            $"{org.Name} has {balance} credits left, below its threshold of {threshold}, and auto top-up is off. Buy credits or turn auto top-up on to avoid interruption.",
                            raised, ct);
                }
                else await ClearAsync(db, orgId, [OrgAlertKind.LowBalance], ct);

                var episode = Episode(billing, org);
                await db.Database.ExecuteSqlAsync($"""
                    UPDATE service.org_alert SET cleared_at = {Now} WHERE org_id = {orgId} AND cleared_at IS NULL
                    AND kind = ANY ({OrgAlertKind.Usage}) AND episode <> {episode}
                    """, ct);
                var used = org.CreditLimit is null ? 0 : await billing.UsageThisCycleAsync(org, ct);
                foreach (var (kind, percent, severity, title) in new[]
                {
                    (OrgAlertKind.CreditLimitApproaching, 80, "warning", "Credit Limit Approaching"),
                    (OrgAlertKind.CreditLimitReached, 100, "critical", "Credit Limit Reached"),
                })
                {
                    if (org.CreditLimit is { } limit && (long)used * 100 >= (long)limit * percent)
                    {
                        if (org.UsageAlerts)
                            await RaiseAsync(db, org, kind, episode, severity, title,
                                $"{org.Name} has used {used} of its {limit} credit limit this cycle ({Percent(used, limit)} %).", raised, ct);
                    }
                    else await ClearAsync(db, orgId, [kind], ct);
                }
                await tx.CommitAsync(ct);
            }
            await SendAsync(db, raised, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("alerts of org {Org} not evaluated: {Error}", orgId, e.Message);
        }
    }

    /// <summary>
    /// Auto top-up could not charge and was turned off (<see cref="OrgAlertKind.AutoTopupFailed"/>: a declined card, no
    /// usable card, a payment that did not complete, a dispute) or a payment failed (<see cref="OrgAlertKind.PaymentFailed"/>):
    /// raised once until a later payment succeeds.
    /// </summary>
    public async Task PaymentFailedAsync(LedgerOwner owner, string kind, string reason, CancellationToken ct)
    {
        if (owner.OrgId is not { } orgId) return;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var raised = new List<Raised>();
            await using (var tx = await db.Database.BeginTransactionAsync(ct))
            {
                if (await LockAsync(db, orgId, ct) is not { BillingAlerts: true } org) return;
                var (title, text) = kind == OrgAlertKind.AutoTopupFailed
                    ? ("Auto-topup Failed", $"Auto top-up of {org.Name} has been turned off: {reason.TrimEnd('.')}.")
                    : ("Payment Failed", $"A payment for {org.Name} failed: {reason}");
                await RaiseAsync(db, org, kind, "", "critical", title, text + " Check the payment method.", raised, ct);
                await tx.CommitAsync(ct);
            }
            await SendAsync(db, raised, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("payment alert of org {Org} not raised: {Error}", orgId, e.Message);
        }
    }

    /// <summary>A payment for the org succeeded: the payment alerts re-arm, and the balance is evaluated again.</summary>
    public async Task PaymentSucceededAsync(LedgerOwner owner, CancellationToken ct)
    {
        if (owner.OrgId is not { } orgId) return;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await ClearAsync(db, orgId, [OrgAlertKind.AutoTopupFailed, OrgAlertKind.PaymentFailed], ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("payment alerts of org {Org} not cleared: {Error}", orgId, e.Message);
        }
        await EvaluateAsync(orgId, ct);
    }

    /// <summary>Orgs with an open alert, for the sweeper to re-evaluate (a new cycle, a grant made elsewhere).</summary>
    public static Task<List<string>> OrgsWithOpenAlertsAsync(AppDbContext db, CancellationToken ct) =>
        db.Database.SqlQuery<string>($"SELECT DISTINCT org_id AS \"Value\" FROM service.org_alert WHERE cleared_at IS NULL").ToListAsync(ct);

    /// <summary>
    /// The org's alerts to show: open, not dismissed, of a switch that is on, usage alerts of the current cycle only;
    /// newest first.
    /// </summary>
    public static async Task<List<View>> ListAsync(AppDbContext db, OrgBilling billing, string orgId, CancellationToken ct)
    {
        var org = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == orgId, ct);
        if (org is null) return [];
        var kinds = (org.BillingAlerts ? OrgAlertKind.Billing : []).Concat(org.UsageAlerts ? OrgAlertKind.Usage : []).ToArray();
        var episode = Episode(billing, org);
        return await db.Database.SqlQuery<View>($"""
            SELECT id AS "Id", kind AS "Kind", severity AS "Severity", title AS "Title", message AS "Message", created_at AS "CreatedAt"
            FROM service.org_alert
            WHERE org_id = {orgId} AND cleared_at IS NULL AND dismissed_at IS NULL AND kind = ANY ({kinds})
              AND (episode = '' OR episode = {episode})
            ORDER BY created_at DESC, id
            """).ToListAsync(ct);
    }

    /// <summary>
    /// Hides the alert for everyone until its event happens again; the admin check is repeated in the statement.
    /// False when the org has no such alert (or the caller is no longer an admin).
    /// </summary>
    public static async Task<bool> DismissAsync(AppDbContext db, OrgCaller caller, string alertId, DateTime now, CancellationToken ct)
    {
        if (!Guid.TryParse(alertId, out var id)) return false;
        var userId = caller.User.Id;
        return await db.Database.ExecuteSqlAsync($"""
            UPDATE service.org_alert SET dismissed_at = coalesce(dismissed_at, {now}), dismissed_by = coalesce(dismissed_by, {userId})
            WHERE id = {id} AND org_id = {caller.OrgId}
              AND org_id IN (SELECT org_id FROM org_member WHERE user_id = {userId} AND role = ANY ({OrgAccess.AdminRoles.ToArray()}))
            """, ct) == 1;
    }

    /// <summary>What the overview and settings call the balance threshold: the auto top-up threshold, 500 when unset.</summary>
    public static int Threshold(Org org) => org.AutoTopupThreshold == 0 ? 500 : org.AutoTopupThreshold;

    static string Episode(OrgBilling billing, Org org) => billing.Cycle(org).Start.ToString("O", CultureInfo.InvariantCulture);

    static int Percent(int used, int limit) => limit == 0 ? 100 : (int)Math.Floor(used * 100.0 / limit);

    DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>Serializes evaluations of one org for the transaction, and reads its switches under the lock.</summary>
    static async Task<Org?> LockAsync(AppDbContext db, string orgId, CancellationToken ct)
    {
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({"org-alert:" + orgId}, 0))", ct);
        return await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == orgId, ct);
    }

    async Task RaiseAsync(AppDbContext db, Org org, string kind, string episode, string severity, string title, string message, List<Raised> raised,
        CancellationToken ct)
    {
        var inserted = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO service.org_alert (id, org_id, kind, episode, severity, title, message, created_at)
            VALUES ({Guid.NewGuid()}, {org.Id}, {kind}, {episode}, {severity}, {title}, {message}, {Now})
            ON CONFLICT (org_id, kind, episode) WHERE cleared_at IS NULL DO NOTHING
            """, ct);
        if (inserted == 1) raised.Add(new Raised(org.Id, kind, title, message));
    }

    Task ClearAsync(AppDbContext db, string orgId, string[] kinds, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"UPDATE service.org_alert SET cleared_at = {Now} WHERE org_id = {orgId} AND kind = ANY ({kinds}) AND cleared_at IS NULL", ct);

    /// <summary>E-mails each newly raised alert to the org's owners and admins; a failed send is logged (the alert still shows).</summary>
    async Task SendAsync(AppDbContext db, List<Raised> raised, CancellationToken ct)
    {
        foreach (var alert in raised)
        {
            var org = await db.Orgs.AsNoTracking().Where(o => o.Id == alert.OrgId).Select(o => new { o.Name, o.Slug }).FirstAsync(ct);
            var text = $"{alert.Message}\n\nSee {options.Value.AppUrl.TrimEnd('/')}/orgs/{org.Slug}\n\n"
                + "You receive this as an owner or admin of the organization; its settings page turns these alerts off.";
            foreach (var to in await Managers(db, alert.OrgId).ToListAsync(ct))
            {
                try
                {
                    await email.SendAsync(new EmailMessage(to, $"{org.Name}: {alert.Title}", text), ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    log.LogWarning("alert {Kind} of org {Org} not e-mailed to a manager: {Error}", alert.Kind, alert.OrgId, e.Message);
                }
            }
        }
    }

    /// <summary>E-mail addresses of the org's owners and admins.</summary>
    public static IQueryable<string> Managers(AppDbContext db, string orgId) =>
        OrgAccess.Admins(db).Where(m => m.OrgId == orgId)
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => u.Email).OrderBy(e => e);
}
