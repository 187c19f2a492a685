using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Payments;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>
/// Issue 31: billing alerts, usage alerts and weekly reports, each driven on two instances with the shared clock and
/// the fake Stripe; each event e-mails every owner and admin exactly once, re-arms when its condition clears, and a
/// switch turned off hides its alerts at once.
/// </summary>
public sealed class AlertTests(AlertFixture server) : IClassFixture<AlertFixture>
{
    sealed record Setup(string OrgId, string Name, TestUser Owner, TestUser Admin, TestUser Member);

    /// <summary>An org (created over HTTP) with an admin and a member, <paramref name="credits"/> credits and the given settings.</summary>
    async Task<Setup> OrgAsync(int credits, object settings)
    {
        server.Clock.Now = DateTimeOffset.UtcNow;
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var name = "Alerts " + Guid.NewGuid().ToString("N")[..10];
        using var client = server.ClientFor(owner);
        var created = await client.PostAsJsonAsync("/api/orgs", new { name });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var orgId = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        await using (var db = server.NewDbContext())
        {
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = admin.Id, Role = OrgRole.Admin, JoinedAt = DateTime.UtcNow });
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = member.Id, Role = OrgRole.Member, JoinedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }
        if (credits > 0) await server.GrantAsync(orgId, owner, credits);
        // New orgs start with auto top-up on; without a card it would switch itself off with its own alert.
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/api/orgs/{orgId}/settings", new { autoTopupEnabled = false, billingAlerts = false })).StatusCode);
        var set = await client.PatchAsJsonAsync($"/api/orgs/{orgId}/settings", settings);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        return new Setup(orgId, name, owner, admin, member);
    }

    /// <summary>The e-mails sent so far with this subject, by recipient.</summary>
    List<string> Sent(string subject) => server.Emails.Where(m => m.Subject == subject).Select(m => m.To).OrderBy(t => t).ToList();

    static List<string> Managers(Setup o) => new[] { o.Owner.Email, o.Admin.Email }.OrderBy(t => t).ToList();

    /// <summary>Waits until each manager got the mail, then a while longer, and checks nobody got it twice (or the member at all).</summary>
    async Task SentOnceAsync(Setup o, string subject)
    {
        await PaymentFixture.EventuallyAsync(() => Task.FromResult(Sent(subject).Count >= 2), $"'{subject}' e-mailed");
        await Task.Delay(700); // several sweeps on both instances
        Assert.Equal(Managers(o), Sent(subject));
    }

    /// <summary>GET /api/orgs/{id}/alerts from the given instance, as a plain member.</summary>
    async Task<JsonArray> AlertsAsync(Setup o, Uri address, TestUser? as_ = null)
    {
        using var client = server.ClientFor(as_ ?? o.Member, address);
        var response = await client.GetAsync($"/api/orgs/{o.OrgId}/alerts");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return (JsonArray)JsonNode.Parse(body)!["alerts"]!;
    }

    static List<string> Types(JsonArray alerts) => alerts.Select(a => (string)a!["type"]!).OrderBy(t => t).ToList();

    [Fact]
    public async Task A_balance_below_the_threshold_with_auto_top_up_off_alerts_once_and_re_arms_when_credits_come_back()
    {
        var o = await OrgAsync(600, new { billingAlerts = true, usageAlerts = false, autoTopupThreshold = 500 });
        var subject = $"{o.Name}: Low Credit Balance";
        await server.ChargeAsync(server.Services, o.OrgId, o.Owner, 50); // 550: above
        await Task.Delay(500);
        Assert.Empty(Sent(subject));

        // Both instances charge below the threshold, several times.
        foreach (var (services, _) in server.Instances) await server.ChargeAsync(services, o.OrgId, o.Owner, 100);
        foreach (var (services, _) in server.Instances) await server.ChargeAsync(services, o.OrgId, o.Admin, 10);
        await SentOnceAsync(o, subject);
        var mail = server.Emails.First(m => m.Subject == subject);
        Assert.Matches($@"^{o.Name} has (450|350|340|330) credits left, below its threshold of 500, and auto top-up is off\.", mail.Text);

        foreach (var (_, address) in server.Instances)
        {
            var alert = Assert.Single(await AlertsAsync(o, address))!;
            Assert.Equal(("low_balance", "warning", "Low Credit Balance"), ((string)alert["type"]!, (string)alert["severity"]!, (string)alert["title"]!));
            Assert.True(Guid.TryParse((string)alert["id"]!, out _));
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", (string)alert["timestamp"]!);
        }

        // Credits back above the threshold (granted by an operator, no charge): the sweep clears it; falling again re-alerts.
        await server.GrantAsync(o.OrgId, o.Owner, 1000);
        await PaymentFixture.EventuallyAsync(async () => (await AlertsAsync(o, server.SecondAddress)).Count == 0, "the alert cleared");
        await server.ChargeAsync(server.SecondServices, o.OrgId, o.Owner, 900); // 1330 − 900 = 430
        await PaymentFixture.EventuallyAsync(() => Task.FromResult(Sent(subject).Count >= 4), "the second low-balance e-mails");
        await Task.Delay(700);
        Assert.Equal(Managers(o).Concat(Managers(o)).OrderBy(t => t).ToList(), Sent(subject));
    }

    [Fact]
    public async Task Turning_billing_alerts_off_hides_them_at_once_and_raises_no_more()
    {
        var o = await OrgAsync(100, new { billingAlerts = true, usageAlerts = false, autoTopupThreshold = 500 });
        var subject = $"{o.Name}: Low Credit Balance";
        await SentOnceAsync(o, subject); // the settings change itself found 100 < 500
        Assert.Single(await AlertsAsync(o, server.BaseAddress));

        using var owner = server.ClientFor(o.Owner);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/api/orgs/{o.OrgId}/settings", new { billingAlerts = false })).StatusCode);
        foreach (var (_, address) in server.Instances) Assert.Empty(await AlertsAsync(o, address));
        // Cleared (credits back), then below again with the switch off: nothing is sent.
        await server.GrantAsync(o.OrgId, o.Owner, 1000);
        await PaymentFixture.EventuallyAsync(async () =>
        {
            await using var db = server.NewDbContext();
            return !await db.Database.SqlQuery<int>($"SELECT 1 AS \"Value\" FROM service.org_alert WHERE org_id = {o.OrgId} AND cleared_at IS NULL").AnyAsync();
        }, "the alert cleared");
        await server.ChargeAsync(server.Services, o.OrgId, o.Owner, 1050);
        await Task.Delay(700);
        Assert.Equal(Managers(o), Sent(subject));
        Assert.Empty(await AlertsAsync(o, server.SecondAddress));
    }

    [Fact]
    public async Task Admins_dismiss_an_alert_for_everyone_and_members_may_not()
    {
        var o = await OrgAsync(100, new { billingAlerts = true, usageAlerts = false });
        await PaymentFixture.EventuallyAsync(async () => (await AlertsAsync(o, server.BaseAddress)).Count == 1, "the low-balance alert");
        var id = (string)(await AlertsAsync(o, server.BaseAddress))[0]!["id"]!;

        using var member = server.ClientFor(o.Member, server.SecondAddress);
        var refused = await member.PostAsync($"/api/orgs/{o.OrgId}/alerts/{id}/dismiss", null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("""{"error":"Insufficient permissions"}""", await refused.Content.ReadAsStringAsync());
        var outsider = await server.CreateUserAsync();
        using var stranger = server.ClientFor(outsider);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/orgs/{o.OrgId}/alerts")).StatusCode);

        using var admin = server.ClientFor(o.Admin, server.SecondAddress);
        var unknown = await admin.PostAsync($"/api/orgs/{o.OrgId}/alerts/{Guid.NewGuid()}/dismiss", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("""{"error":"Alert not found"}""", await unknown.Content.ReadAsStringAsync());
        var dismissed = await admin.PostAsync($"/api/orgs/{o.OrgId}/alerts/{id}/dismiss", null);
        Assert.Equal("""{"success":true}""", await dismissed.Content.ReadAsStringAsync());
        foreach (var (_, address) in server.Instances) Assert.Empty(await AlertsAsync(o, address));
        // Still below the threshold: a dismissed event is not raised again.
        await server.ChargeAsync(server.Services, o.OrgId, o.Owner, 10);
        await Task.Delay(500);
        Assert.Empty(await AlertsAsync(o, server.BaseAddress));
    }

    [Fact]
    public async Task A_declined_automatic_charge_alerts_once_and_re_arms_after_a_successful_one()
    {
        var o = await OrgAsync(600, new { billingAlerts = true, usageAlerts = false });
        string customer;
        await using (var db = server.NewDbContext())
            customer = (await db.Orgs.SingleAsync(x => x.Id == o.OrgId)).StripeCustomerId!;
        server.Stripe.AddCard(customer, declines: true);
        using var owner = server.ClientFor(o.Owner);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/api/orgs/{o.OrgId}/settings",
            new { autoTopupEnabled = true, autoTopupThreshold = 500, autoTopupAmount = 1000 })).StatusCode);

        foreach (var (services, _) in server.Instances) await server.ChargeAsync(services, o.OrgId, o.Owner, 100);
        var subject = $"{o.Name}: Auto-topup Failed";
        await SentOnceAsync(o, subject);
        Assert.Contains($"Auto top-up of {o.Name} has been turned off: Your card was declined: Your card was declined.",
            server.Emails.First(m => m.Subject == subject).Text);
        // Auto top-up is off now, so the balance under the threshold is its own alert.
        await PaymentFixture.EventuallyAsync(async () => Types(await AlertsAsync(o, server.SecondAddress)).SequenceEqual(["auto_topup_failed", "low_balance"]), "both alerts listed");
        var failed = (await AlertsAsync(o, server.BaseAddress)).Single(a => (string)a!["type"]! == "auto_topup_failed")!;
        Assert.Equal(("critical", "Auto-topup Failed"), ((string)failed["severity"]!, (string)failed["title"]!));

        // A good card and auto top-up on again: the next charge tops up, which clears both alerts.
        server.Stripe.AddCard(customer, declines: false, makeDefault: true);
        server.Clock.Advance(TimeSpan.FromMinutes(2)); // another minute: another automatic charge (its id is per minute)
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/api/orgs/{o.OrgId}/settings", new { autoTopupEnabled = true })).StatusCode);
        await server.ChargeAsync(server.SecondServices, o.OrgId, o.Owner, 10);
        await PaymentFixture.EventuallyAsync(async () => (await AlertsAsync(o, server.BaseAddress)).Count == 0, "alerts cleared by the successful top-up");
        Assert.Equal(1, server.Stripe.SucceededCharges(customer));

        // Declined again later: a new event, a new e-mail.
        foreach (var card in server.Stripe.Cards.Values.Where(c => c.CustomerId == customer && !c.Declines).ToList()) server.Stripe.Cards.TryRemove(card.Id, out _);
        server.Stripe.AddCard(customer, declines: true, makeDefault: true);
        server.Clock.Advance(TimeSpan.FromMinutes(2));
        await server.ChargeAsync(server.Services, o.OrgId, o.Owner, 1100); // 1390 − 1100 = 290 < 500
        await PaymentFixture.EventuallyAsync(() => Task.FromResult(Sent(subject).Count >= 4), "the second decline e-mailed");
        await Task.Delay(700);
        Assert.Equal(4, Sent(subject).Count);
    }

    [Fact]
    public async Task A_failed_payment_webhook_on_both_instances_alerts_once()
    {
        var o = await OrgAsync(5000, new { billingAlerts = true, usageAlerts = false });
        var intent = new JsonObject
        {
            ["id"] = "pi_" + Guid.NewGuid().ToString("N")[..20], ["object"] = "payment_intent", ["amount"] = 1000, ["currency"] = "usd",
            ["status"] = "requires_payment_method", ["metadata"] = new JsonObject { ["organizationId"] = o.OrgId, ["operationId"] = "org-op-1" },
            ["last_payment_error"] = new JsonObject { ["type"] = "card_error", ["code"] = "card_declined", ["message"] = "Your card has insufficient funds." },
        };
        var body = FakeStripe.Event("payment_intent.payment_failed", intent);
        foreach (var (_, address) in server.Instances)
        {
            var response = await AlertFixture.DeliverAsync(address, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(Managers(o), Sent($"{o.Name}: Payment Failed")); // sent before the webhook answered
        await SentOnceAsync(o, $"{o.Name}: Payment Failed");
        var alert = Assert.Single(await AlertsAsync(o, server.SecondAddress))!;
        Assert.Equal(("payment_failed", "critical"), ((string)alert["type"]!, (string)alert["severity"]!));
        Assert.Equal($"A payment for {o.Name} failed: Your card has insufficient funds. Check the payment method.", (string)alert["message"]!);

        // The failed intent of an automatic charge is not a second alert: auto top-up's own alert covers it.
        var other = await OrgAsync(5000, new { billingAlerts = true, usageAlerts = false });
        var automatic = (JsonObject)intent.DeepClone();
        automatic["id"] = "pi_" + Guid.NewGuid().ToString("N")[..20];
        automatic["metadata"] = new JsonObject { ["organizationId"] = other.OrgId, ["operationId"] = "org-auto-topup-x", ["type"] = "auto-topup" };
        Assert.Equal(HttpStatusCode.OK, (await AlertFixture.DeliverAsync(server.BaseAddress, FakeStripe.Event("payment_intent.payment_failed", automatic))).StatusCode);
        await Task.Delay(300);
        Assert.Empty(Sent($"{other.Name}: Payment Failed"));
        Assert.Empty(await AlertsAsync(other, server.BaseAddress));
    }

    [Fact]
    public async Task Usage_alerts_fire_at_80_and_100_percent_of_the_credit_limit_once_per_cycle()
    {
        var o = await OrgAsync(100_000, new { billingAlerts = false, usageAlerts = true, creditLimit = 1000 });
        var approaching = $"{o.Name}: Credit Limit Approaching";
        var reached = $"{o.Name}: Credit Limit Reached";
        await server.ChargeAsync(server.Services, o.OrgId, o.Owner, 700);
        await Task.Delay(400);
        Assert.Empty(Sent(approaching));
        foreach (var (services, _) in server.Instances) await server.ChargeAsync(services, o.OrgId, o.Member, 60); // 820
        await SentOnceAsync(o, approaching);
        Assert.Contains($"{o.Name} has used 820 of its 1000 credit limit this cycle (82 %).", server.Emails.First(m => m.Subject == approaching).Text);
        Assert.Empty(Sent(reached));
        foreach (var (services, _) in server.Instances) await server.ChargeAsync(services, o.OrgId, o.Member, 100); // 1020
        await SentOnceAsync(o, reached);
        var alerts = await AlertsAsync(o, server.SecondAddress);
        Assert.Equal(["credit_limit_approaching", "credit_limit_reached"], Types(alerts));
        Assert.Equal("critical", (string)alerts.Single(a => (string)a!["type"]! == "credit_limit_reached")!["severity"]!);

        // A new cycle (the next calendar month): the old alerts go, and the marks re-arm.
        var next = new DateTime(server.Clock.Now.Year, server.Clock.Now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1).AddHours(1);
        server.Clock.Now = next;
        Assert.Empty(await AlertsAsync(o, server.BaseAddress));
        await server.ChargeAsync(server.SecondServices, o.OrgId, o.Owner, 900);
        await PaymentFixture.EventuallyAsync(() => Task.FromResult(Sent(approaching).Count >= 4), "the next cycle's 80 % e-mails");
        await Task.Delay(500);
        Assert.Equal(4, Sent(approaching).Count);
        Assert.Equal(2, Sent(reached).Count);

        // The switch off: nothing listed, at once.
        using var owner = server.ClientFor(o.Owner);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/api/orgs/{o.OrgId}/settings", new { usageAlerts = false })).StatusCode);
        Assert.Empty(await AlertsAsync(o, server.SecondAddress));
        server.Clock.Now = DateTimeOffset.UtcNow;
    }

    [Fact]
    public async Task The_weekly_report_goes_once_on_Monday_to_owners_and_admins_with_last_weeks_usage()
    {
        var monday = new DateTimeOffset(DateTime.SpecifyKind(Codebuff.Server.Orgs.WeeklyReports.WeekStart(DateTime.UtcNow), DateTimeKind.Utc));
        var o = await OrgAsync(100_000, new { billingAlerts = false, usageAlerts = false });
        var quiet = await OrgAsync(100_000, new { billingAlerts = false, usageAlerts = false, weeklyReports = false });
        await using (var db = server.NewDbContext())
        {
            var lastWeek = monday.UtcDateTime.AddDays(-5);
            await db.Orgs.Where(x => x.Id == o.OrgId || x.Id == quiet.OrgId).ExecuteUpdateAsync(s => s.SetProperty(x => x.CreatedAt, lastWeek.AddDays(-30)));
            // Last week: the owner 300 in two calls of one run on app, the admin 100 on lib; before and after the week: ignored.
            var runId = Guid.NewGuid().ToString();
            foreach (var (user, credits, repo, at) in new[]
            {
                (o.Owner, 200, "https://github.com/acme/app", lastWeek), (o.Owner, 100, "https://github.com/acme/app", lastWeek.AddHours(1)),
                (o.Admin, 100, "https://github.com/acme/lib", lastWeek.AddDays(2)),
                (o.Admin, 5000, "https://github.com/acme/old", monday.UtcDateTime.AddDays(-8)), (o.Owner, 7000, "https://github.com/acme/new", monday.UtcDateTime.AddMinutes(1)),
            })
            {
                var id = $"gen-{Guid.NewGuid():N}";
                // Through the ledger, as every billed call: it writes the daily rollups the report reads.
                await using (var scope = server.Services.CreateAsyncScope())
                    await scope.ServiceProvider.GetRequiredService<Codebuff.Ledger.CreditLedger>().ChargeAsync(Codebuff.Ledger.LedgerOwner.Org(o.OrgId),
                        new Message { Id = id, UserId = user.Id, OrgId = o.OrgId, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1, FinishedAt = at, RepoUrl = repo },
                        deduct: true);
                if (repo.EndsWith("/app"))
                    await db.Database.ExecuteSqlAsync($"""
                        INSERT INTO service.trace_step (call_id, message_id, user_id, run_id, created_at, messages, tool_calls, truncated)
                        VALUES ({Guid.NewGuid()}, {id}, {user.Id}, {runId}, {at}, '[]', '[]', false)
                        """);
            }
        }
        server.Clock.Now = monday.AddDays(-1).AddHours(23); // Sunday: nothing yet (set before the switch: the real today may be a Monday)
        using (var owner = server.ClientFor(o.Owner))
            Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/api/orgs/{o.OrgId}/settings", new { weeklyReports = true })).StatusCode);

        var subject = $"{o.Name}: weekly report {monday.AddDays(-7):yyyy-MM-dd} to {monday.AddDays(-1):yyyy-MM-dd}";
        await Task.Delay(500);
        Assert.Empty(Sent(subject));
        server.Clock.Now = monday.AddMinutes(5);
        await SentOnceAsync(o, subject);
        Assert.DoesNotContain(server.Emails, m => m.Subject.StartsWith(quiet.Name) && m.Subject.Contains("weekly report"));
        var text = server.Emails.First(m => m.Subject == subject).Text;
        Assert.Contains("Credits used: 400\n", text);
        Assert.Contains("Billed calls: 3\n", text);
        Assert.Contains("Agent runs: 1\n", text);
        Assert.Contains($"Top users:\n  Test User ({o.Owner.Email}): 300 credits\n  Test User ({o.Admin.Email}): 100 credits\n", text);
        Assert.Contains("Top repositories:\n  https://github.com/acme/app: 300 credits\n  https://github.com/acme/lib: 100 credits\n", text);

        // Later the same week: no second report.
        server.Clock.Now = monday.AddDays(2);
        await Task.Delay(500);
        Assert.Equal(Managers(o), Sent(subject));
        server.Clock.Now = DateTimeOffset.UtcNow;
    }
}
