using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Payments;

/// <summary>
/// Organization auto top-up (api.md §7.9): set through the org settings route, evaluated during consumption and on
/// usage reads (the org usage page and the CLI's POST /api/v1/usage), at most one charge per trigger.
/// Also the personal evaluation on POST /api/v1/usage, and the default card after an org subscription checkout (§5.6).
/// </summary>
public sealed class OrgAutoTopUpTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    FakeStripe Stripe => server.Stripe;

    sealed record OrgSetup(TestUser Owner, string OrgId, string CustomerId);

    /// <summary>An org with 600 credits, a Stripe customer with one card, and auto top-up at threshold 500 / amount 1000 (set over HTTP).</summary>
    async Task<OrgSetup> OrgWithAutoTopUpAsync(bool declines = false)
    {
        var owner = await server.CreateUserAsync();
        var orgId = Guid.NewGuid().ToString();
        var customerId = Stripe.AddCustomer(new() { ["organization_id"] = orgId, ["type"] = "organization" });
        Stripe.AddCard(customerId, declines, makeDefault: false); // organizations pay with the first card when none is the default
        await using (var db = server.NewDbContext())
        {
            db.Orgs.Add(new Org
            {
                Id = orgId, Name = "Topup Org", Slug = "topup-" + orgId[..8], OwnerId = owner.Id, StripeCustomerId = customerId,
                AutoTopupEnabled = false, AutoTopupAmount = 20000, AutoTopupThreshold = 5000,
            });
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = owner.Id, Role = OrgRole.Owner });
            await db.SaveChangesAsync();
        }
        await using (var scope = server.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.Org(orgId), $"seed-{orgId}", owner.Id, 600,
                GrantType.Organization, "seed", null, CancellationToken.None);
        using var client = server.ClientFor(owner);
        var set = await client.PatchAsJsonAsync($"/api/orgs/{orgId}/settings", new { autoTopupEnabled = true, autoTopupThreshold = 500, autoTopupAmount = 1000 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        return new OrgSetup(owner, orgId, customerId);
    }

    /// <summary>50 charges of 10 credits to the org, submitted through the billing queue at once; returns once all are written.</summary>
    async Task Charge50Async(OrgSetup org)
    {
        var queue = server.Services.GetRequiredService<ChargeQueue>();
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => queue.SubmitAsync(new Charge(
            Guid.NewGuid(), org.Owner.Id, org.OrgId, $"gen-{Guid.NewGuid():N}", DateTime.UtcNow, null, null, "m", null, null, "\"\"",
            1, 0, null, 1, 0.1m, 10, false, null, true)
        { RepoUrl = "https://github.com/acme/app" }))));
        await using var db = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(async () => await db.Messages.CountAsync(m => m.OrgId == org.OrgId) == 50, "all 50 org charges written");
    }

    async Task SpendAsync(LedgerOwner owner, string userId, int credits)
    {
        await using var scope = server.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(owner,
            new Message { Id = $"gen-{Guid.NewGuid():N}", UserId = userId, OrgId = owner.OrgId, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1, FinishedAt = DateTime.UtcNow },
            deduct: true);
    }

    /// <summary>A user with 600 credits, a saved card and auto top-up at threshold 500 / amount 1000, who has spent 200.</summary>
    async Task<(TestUser User, string CustomerId)> UserBelowThresholdAsync(bool declines)
    {
        var user = await server.CreateUserAsync(credits: 600);
        var customerId = Stripe.AddCustomer(new() { ["user_id"] = user.Id });
        Stripe.AddCard(customerId, declines);
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.StripeCustomerId, customerId));
        using var client = server.ClientFor(user);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/user/auto-topup", new { enabled = true, threshold = 500, amount = 1000 })).StatusCode);
        await SpendAsync(LedgerOwner.User(user.Id), user.Id, 200); // 400 < 500
        return (user, customerId);
    }

    [Fact]
    public async Task Fifty_concurrent_org_charges_crossing_the_threshold_charge_the_card_once_and_grant_once()
    {
        var org = await OrgWithAutoTopUpAsync();
        await Charge50Async(org); // 600 − 500 = 100: every charge after the 10th is at or below the threshold

        await using var db = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(() => db.CreditLedger.AnyAsync(g => g.OrgId == org.OrgId && g.OperationId.StartsWith("org-auto-topup-")), "the org top-up grant");
        await Task.Delay(500); // let any stray evaluation finish
        Assert.Equal(1, Stripe.SucceededCharges(org.CustomerId));
        var grant = Assert.Single(await db.CreditLedger.AsNoTracking().Where(g => g.OrgId == org.OrgId && g.OperationId.StartsWith("org-auto-topup-")).ToListAsync());
        Assert.Equal((1000, GrantType.Organization, org.Owner.Id, "Auto top-up of 1000 credits"), (grant.Principal, grant.Type, grant.UserId, grant.Description));
        Assert.Matches($"^org-auto-topup-{org.OrgId}-\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}$", grant.OperationId);
        var intent = Stripe.PaymentIntents.Values.Single(p => (string?)p["customer"] == org.CustomerId);
        Assert.Equal((grant.OperationId, "auto-topup", 1000L), ((string)intent["metadata"]!["operationId"]!, (string)intent["metadata"]!["type"]!, (long)intent["amount"]!));

        using var client = server.ClientFor(org.Owner);
        var usage = (await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/usage"))!;
        Assert.Equal(1100, (int)usage["currentBalance"]!);
        Assert.Equal(1, Stripe.SucceededCharges(org.CustomerId)); // above the threshold again: the read charged nothing
    }

    [Fact]
    public async Task A_declined_org_card_disables_org_auto_top_up_with_a_reason_and_the_calls_complete()
    {
        var org = await OrgWithAutoTopUpAsync(declines: true);
        await Charge50Async(org);

        await using var db = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(async () => !await db.Orgs.Where(o => o.Id == org.OrgId).Select(o => o.AutoTopupEnabled).SingleAsync(), "org auto top-up disabled");
        Assert.Equal(50, await db.Messages.CountAsync(m => m.OrgId == org.OrgId));
        Assert.Equal(100, await db.CreditLedger.Where(g => g.OrgId == org.OrgId).SumAsync(g => g.Balance));
        Assert.Equal(0, Stripe.SucceededCharges(org.CustomerId));

        using var client = server.ClientFor(org.Owner);
        var settings = (await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/settings"))!;
        Assert.False((bool)settings["autoTopupEnabled"]!);
        Assert.Equal("Your card was declined: Your card was declined.", (string?)settings["autoTopupBlockedReason"]);

        // An admin turning it on again clears the reason.
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/api/orgs/{org.OrgId}/settings", new { autoTopupEnabled = true })).StatusCode);
        settings = (await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/settings"))!;
        Assert.True((bool)settings["autoTopupEnabled"]!);
        Assert.Null(settings["autoTopupBlockedReason"]);
    }

    [Fact]
    public async Task Org_auto_top_up_settings_validate_and_an_invalid_body_changes_nothing()
    {
        var org = await OrgWithAutoTopUpAsync();
        using var client = server.ClientFor(org.Owner);
        async Task<string> Refusal(object body)
        {
            var r = await client.PatchAsJsonAsync($"/api/orgs/{org.OrgId}/settings", body);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            return (string)(await r.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        }
        Assert.Equal("autoTopupAmount must be a whole number from 500 to 100000", await Refusal(new { autoTopupEnabled = false, autoTopupAmount = 499 }));
        Assert.Equal("autoTopupThreshold must be a whole number from 0 to 100000", await Refusal(new { autoTopupThreshold = -1 }));
        Assert.Equal("autoTopupThreshold must be a whole number from 0 to 100000", await Refusal(new { autoTopupThreshold = 10.5 }));
        // The bounds (Codebuff:AutoTopUp:OrgMaxThreshold, OrgMaxAmount): a threshold of 2e9 would charge on every read.
        Assert.Equal("autoTopupThreshold must be a whole number from 0 to 100000", await Refusal(new { autoTopupThreshold = 2_000_000_000 }));
        Assert.Equal("autoTopupAmount must be a whole number from 500 to 100000", await Refusal(new { autoTopupAmount = 100_001 }));
        Assert.Equal("autoTopupEnabled must be true or false", await Refusal(new { autoTopupEnabled = "yes", autoTopupAmount = 2000 }));

        var settings = (await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/settings"))!;
        Assert.Equal((true, 500, 1000), ((bool)settings["autoTopupEnabled"]!, (int)settings["autoTopupThreshold"]!, (int)settings["autoTopupAmount"]!));

        // A plain member may not change them.
        var member = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
        {
            db.OrgMembers.Add(new OrgMember { OrgId = org.OrgId, UserId = member.Id, Role = OrgRole.Member });
            await db.SaveChangesAsync();
        }
        using var memberClient = server.ClientFor(member);
        Assert.Equal(HttpStatusCode.Forbidden, (await memberClient.PatchAsJsonAsync($"/api/orgs/{org.OrgId}/settings", new { autoTopupEnabled = false })).StatusCode);
    }

    [Fact]
    public async Task The_org_usage_page_tops_up_an_org_below_its_threshold()
    {
        var org = await OrgWithAutoTopUpAsync();
        await SpendAsync(LedgerOwner.Org(org.OrgId), org.Owner.Id, 200); // 400 ≤ 500
        using var client = server.ClientFor(org.Owner);
        var usage = (await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/usage"))!;
        Assert.Equal(1400, (int)usage["currentBalance"]!);
        Assert.Equal(1, Stripe.SucceededCharges(org.CustomerId));
    }

    [Fact]
    public async Task The_CLI_usage_call_tops_up_an_org_below_its_threshold()
    {
        var org = await OrgWithAutoTopUpAsync();
        await SpendAsync(LedgerOwner.Org(org.OrgId), org.Owner.Id, 200);
        using var client = server.ClientFor(org.Owner);
        var response = await client.PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "fp-org-usage", orgId = org.OrgId });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1400, (int)body["remainingBalance"]!);
        Assert.Equal(1, Stripe.SucceededCharges(org.CustomerId));
        await using var db = server.NewDbContext();
        Assert.Equal(1000, await db.CreditLedger.Where(g => g.OrgId == org.OrgId && g.OperationId.StartsWith("org-auto-topup-")).SumAsync(g => g.Principal));
    }

    [Fact]
    public async Task The_CLI_usage_call_tops_up_a_user_below_the_threshold()
    {
        var (user, customerId) = await UserBelowThresholdAsync(declines: false);
        using var client = server.ClientFor(user);
        var response = await client.PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "fp-user-usage" });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1400, (int)body["remainingBalance"]!);
        Assert.Equal(1000, (int)body["balanceBreakdown"]!["purchase"]!);
        Assert.True((bool)body["autoTopupEnabled"]!);
        Assert.Equal(1, Stripe.SucceededCharges(customerId));
    }

    [Fact]
    public async Task The_CLI_usage_call_with_a_declined_card_answers_and_reports_auto_top_up_off()
    {
        var (user, customerId) = await UserBelowThresholdAsync(declines: true);
        using var client = server.ClientFor(user);
        var response = await client.PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "fp-user-declined" });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(400, (int)body["remainingBalance"]!);
        Assert.False((bool)body["autoTopupEnabled"]!);
        Assert.Equal(0, Stripe.SucceededCharges(customerId));
        Assert.Single(Stripe.PaymentIntents.Values, p => (string?)p["customer"] == customerId); // the one declined attempt
        var profile = (await client.GetFromJsonAsync<JsonObject>("/api/user/profile"))!;
        Assert.Equal("Your card was declined: Your card was declined.", (string?)profile["auto_topup_blocked_reason"]);
    }

    /// <summary>api.md §5.6: after an org subscription checkout the card entered there becomes the customer's default.</summary>
    [Fact]
    public async Task An_org_subscription_checkout_makes_the_first_card_the_default_payment_method()
    {
        var owner = await server.CreateUserAsync();
        var orgId = Guid.NewGuid().ToString();
        var customerId = Stripe.AddCustomer(new() { ["organization_id"] = orgId, ["type"] = "organization" });
        var card = Stripe.AddCard(customerId, makeDefault: false);
        await using var db = server.NewDbContext();
        db.Orgs.Add(new Org { Id = orgId, Name = "Subscribed", Slug = "sub-" + orgId[..8], OwnerId = owner.Id, StripeCustomerId = customerId, AutoTopupEnabled = false });
        await db.SaveChangesAsync();
        Assert.Null((string?)Stripe.Customers[customerId]["invoice_settings"]!["default_payment_method"]);

        var session = new JsonObject
        {
            ["id"] = "cs_sub_" + Guid.NewGuid().ToString("N")[..16], ["object"] = "checkout.session", ["mode"] = "subscription",
            ["customer"] = customerId, ["subscription"] = "sub_" + Guid.NewGuid().ToString("N")[..16], ["status"] = "complete",
            ["payment_status"] = "paid", ["metadata"] = new JsonObject { ["organization_id"] = orgId },
        };
        var delivered = await server.DeliverAsync(FakeStripe.Event("checkout.session.completed", session));
        Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);

        Assert.Equal(card.Id, (string?)Stripe.Customers[customerId]["invoice_settings"]!["default_payment_method"]);
        var stored = await db.Orgs.AsNoTracking().SingleAsync(o => o.Id == orgId);
        Assert.Equal(((string?)session["subscription"], true, 500, 2000), (stored.StripeSubscriptionId, stored.AutoTopupEnabled, stored.AutoTopupThreshold, stored.AutoTopupAmount));
    }

    /// <summary>
    /// The settings that charge the org's card are the owner's: an admin sending any auto top-up key is refused 403
    /// and nothing changes, while the admin's other settings still save; the owner may change them.
    /// </summary>
    [Fact]
    public async Task Only_the_owner_changes_the_settings_that_charge_the_card()
    {
        var org = await OrgWithAutoTopUpAsync();
        var admin = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
        {
            db.OrgMembers.Add(new OrgMember { OrgId = org.OrgId, UserId = admin.Id, Role = OrgRole.Admin });
            await db.SaveChangesAsync();
        }
        using var adminClient = server.ClientFor(admin);
        foreach (var body in new object[] { new { autoTopupThreshold = 90_000, autoTopupAmount = 100_000 }, new { autoTopupEnabled = false }, new { weeklyReports = false, autoTopupAmount = 600 } })
        {
            var refused = await adminClient.PatchAsJsonAsync($"/api/orgs/{org.OrgId}/settings", body);
            Assert.Equal((HttpStatusCode.Forbidden, "Only organization owners can change auto top-up settings"),
                (refused.StatusCode, (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]));
        }
        var other = await adminClient.PatchAsJsonAsync($"/api/orgs/{org.OrgId}/settings", new { weeklyReports = false, creditLimit = 7000 });
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        await using (var db = server.NewDbContext())
        {
            var stored = await db.Orgs.AsNoTracking().SingleAsync(o => o.Id == org.OrgId);
            Assert.Equal((true, 500, 1000, false, (int?)7000), (stored.AutoTopupEnabled, stored.AutoTopupThreshold, stored.AutoTopupAmount, stored.WeeklyReports, stored.CreditLimit));
        }

        using var ownerClient = server.ClientFor(org.Owner);
        Assert.Equal(HttpStatusCode.OK, (await ownerClient.PatchAsJsonAsync($"/api/orgs/{org.OrgId}/settings", new { autoTopupThreshold = 800, autoTopupAmount = 3000 })).StatusCode);
        await using (var db = server.NewDbContext())
        {
            var stored = await db.Orgs.AsNoTracking().SingleAsync(o => o.Id == org.OrgId);
            Assert.Equal((800, 3000), (stored.AutoTopupThreshold, stored.AutoTopupAmount));
        }
    }

    /// <summary>An org's automatic charges are capped per day like a user's, and listed on the org's usage page.</summary>
    [Fact]
    public async Task Org_automatic_charges_are_capped_per_day_and_listed_on_the_usage_page()
    {
        var org = await OrgWithAutoTopUpAsync();
        var owner = $"org:{org.OrgId}";
        await using var db = server.NewDbContext();
        for (var i = 0; i < 5; i++)
            await db.Database.ExecuteSqlAsync($"INSERT INTO payments.auto_topup_charge (operation_id, owner, credits, status, created_at) VALUES ({$"earlier-{org.OrgId}-{i}"}, {owner}, 1000, 'succeeded', {DateTime.UtcNow.AddHours(-2)})");
        await SpendAsync(LedgerOwner.Org(org.OrgId), org.Owner.Id, 200); // 400 ≤ 500
        using var client = server.ClientFor(org.Owner);
        Assert.Equal(400, (int)(await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/usage"))!["currentBalance"]!);
        Assert.Equal(0, Stripe.SucceededCharges(org.CustomerId));

        await db.Database.ExecuteSqlAsync($"DELETE FROM payments.auto_topup_charge WHERE operation_id = {$"earlier-{org.OrgId}-0"}");
        Assert.Equal(1400, (int)(await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.OrgId}/usage"))!["currentBalance"]!);
        Assert.Equal(1, Stripe.SucceededCharges(org.CustomerId));

        var slug = await db.Orgs.Where(o => o.Id == org.OrgId).Select(o => o.Slug).SingleAsync();
        var page = await (await server.CookieClientAsync(org.Owner)).GetStringAsync($"/orgs/{slug}/usage");
        var table = page[page.IndexOf("id=\"auto-charges\"", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(table, "<tr data-operation=").Count);
        Assert.Matches($"data-operation=\"org-auto-topup-{org.OrgId}-[^\"]+\" data-status=\"succeeded\"", table);
    }
}
