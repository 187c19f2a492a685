using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Payments;

public sealed class PurchaseTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    FakeStripe Stripe => server.Stripe;

    static async Task<JsonObject> BodyOf(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonObject>())!;

    [Fact]
    public async Task Usage_tells_the_cli_that_credits_can_be_bought()
    {
        var user = await server.CreateUserAsync();
        var body = await (await server.ClientFor(user).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "x" })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(body!["can_buy_credits"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Buy_credits_refuses_bad_input_with_zod_issues()
    {
        var user = await server.CreateUserAsync();
        using var client = server.ClientFor(user);
        var small = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 499 });
        Assert.Equal(HttpStatusCode.BadRequest, small.StatusCode);
        var body = await BodyOf(small);
        Assert.Equal("Invalid input", (string)body["error"]!);
        Assert.Equal("Minimum purchase is 500 credits.", (string)body["issues"]![0]!["message"]!);
        Assert.Equal("credits", (string)body["issues"]![0]!["path"]![0]!);

        var text = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = "600" });
        Assert.Equal("Expected number, received string", (string)(await BodyOf(text))["issues"]![0]!["message"]!);
        var notJson = await client.PostAsync("/api/stripe/buy-credits", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal("Invalid JSON body", (string)(await BodyOf(notJson))["error"]!);
        Assert.DoesNotContain(Stripe.PaymentIntents.Values, p => (string?)p["metadata"]!["userId"] == user.Id);

        var anonymous = await server.Client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 600 });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    /// <summary>
    /// With a valid default card the purchase is an off-session charge granted at once; the customer was created on
    /// first purchase with the user's id in metadata. A Checkout completion for the same operation id (the race between
    /// the direct charge and the webhook) grants nothing more.
    /// </summary>
    [Fact]
    public async Task A_saved_card_is_charged_directly_and_granted_once()
    {
        var user = await server.CreateUserAsync();
        using var client = server.ClientFor(user);
        await server.CheckoutAsync(user, 500); // creates the customer, no card yet
        await using var db = server.NewDbContext();
        var customerId = await db.Users.Where(u => u.Id == user.Id).Select(u => u.StripeCustomerId).SingleAsync();
        Assert.NotNull(customerId);
        Assert.Equal(user.Id, (string)Stripe.Customers[customerId!]["metadata"]!["user_id"]!);
        Stripe.AddCard(customerId!, expYear: DateTime.UtcNow.Year - 1); // expired: not usable
        var expired = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 600 });
        Assert.NotNull((await BodyOf(expired))["sessionId"]);

        Stripe.AddCard(customerId!);
        var direct = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 800 });
        var body = await BodyOf(direct);
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        Assert.True((bool)body["success"]!);
        Assert.Equal(800, (int)body["credits"]!);
        var intent = Stripe.PaymentIntents.Values.Single(p => (string?)p["customer"] == customerId && (string?)p["status"] == "succeeded");
        Assert.Equal(800, (long)intent["amount"]!);
        Assert.Equal("purchase", (string)intent["metadata"]!["grantType"]!);
        var operationId = (string)intent["metadata"]!["operationId"]!;
        var grant = await db.CreditLedger.AsNoTracking().SingleAsync(g => g.OperationId == operationId);
        Assert.Equal((800, 800, GrantType.Purchase), (grant.Principal, grant.Balance, grant.Type));

        // The same payment reported by a Checkout-style webhook (same metadata) does not grant again.
        var session = new JsonObject
        {
            ["id"] = "cs_test_race", ["object"] = "checkout.session", ["payment_status"] = "paid", ["status"] = "complete", ["customer"] = customerId,
            ["metadata"] = intent["metadata"]!.DeepClone(),
        };
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(FakeStripe.Event("checkout.session.completed", session))).StatusCode);
        Assert.Equal(1, await db.CreditLedger.CountAsync(g => g.OperationId == operationId));
        Assert.Equal(800, await db.CreditLedger.Where(g => g.UserId == user.Id).SumAsync(g => g.Balance));
    }

    [Fact]
    public async Task A_failed_customer_creation_is_recorded_and_retried()
    {
        var user = await server.CreateUserAsync();
        using var client = server.ClientFor(user);
        Stripe.FailCustomerCreation = true;
        try
        {
            var refused = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 500 });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("Stripe customer not found.", (string)(await BodyOf(refused))["error"]!);
            await using var db = server.NewDbContext();
            var failure = await db.SyncFailures.AsNoTracking().SingleAsync(f => f.Id == user.Id);
            Assert.Equal("stripe", failure.Provider);
        }
        finally
        {
            Stripe.FailCustomerCreation = false;
        }
        await using var check = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(async () => await check.Users.AnyAsync(u => u.Id == user.Id && u.StripeCustomerId != null), "the retried customer");
        await PaymentFixture.EventuallyAsync(async () => !await check.SyncFailures.AnyAsync(f => f.Id == user.Id), "the sync_failure row to clear");
    }

    /// <summary>Only the owner buys organization credits, at least 5000; the grant is the organization's.</summary>
    [Fact]
    public async Task Organization_purchases_are_for_owners_from_5000_credits()
    {
        var owner = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var outsider = await server.CreateUserAsync();
        var orgId = Guid.NewGuid().ToString();
        await using var db = server.NewDbContext();
        db.Orgs.Add(new Org { Id = orgId, Name = "Acme", Slug = "acme-" + orgId[..8], OwnerId = owner.Id, AutoTopupAmount = 20000, AutoTopupThreshold = 5000 });
        db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = owner.Id, Role = OrgRole.Owner });
        db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = member.Id, Role = OrgRole.Admin });
        await db.SaveChangesAsync();

        using var ownerClient = server.ClientFor(owner);
        using var memberClient = server.ClientFor(member);
        using var outsiderClient = server.ClientFor(outsider);
        var route = $"/api/orgs/{orgId}/credits";
        Assert.Equal(HttpStatusCode.NotFound, (await outsiderClient.PostAsJsonAsync(route, new { amount = 5000 })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await memberClient.PostAsJsonAsync(route, new { amount = 5000 })).StatusCode);
        var small = await ownerClient.PostAsJsonAsync(route, new { amount = 4999 });
        Assert.Equal(HttpStatusCode.BadRequest, small.StatusCode);
        Assert.Equal("Minimum purchase is 5000 credits", (string)(await BodyOf(small))["issues"]![0]!["message"]!);

        var checkout = await BodyOf(await ownerClient.PostAsJsonAsync(route, new { amount = 6000 }));
        Assert.False((bool)checkout["direct_charge"]!);
        Assert.Equal(6000, (int)checkout["amount_cents"]!);
        var customerId = await db.Orgs.Where(o => o.Id == orgId).Select(o => o.StripeCustomerId).SingleAsync();
        Assert.Equal(orgId, (string)Stripe.Customers[customerId!]["metadata"]!["organization_id"]!);

        Stripe.AddCard(customerId!, makeDefault: false); // organizations pay with the first card when none is the default
        var direct = await BodyOf(await ownerClient.PostAsJsonAsync(route, new { amount = 5000 }));
        Assert.True((bool)direct["direct_charge"]!);
        var grant = await db.CreditLedger.AsNoTracking().SingleAsync(g => g.OrgId == orgId);
        Assert.Equal((5000, GrantType.Organization, owner.Id), (grant.Balance, grant.Type, grant.UserId));
        Assert.StartsWith($"org-{orgId}-", grant.OperationId);
    }

    /// <summary>
    /// {"credits":1e400} and its kin answered 500 (the handlers read the number as a double, which fails); now 400 with
    /// a JSON body saying which number, and nothing is charged or stored.
    /// </summary>
    [Theory]
    [InlineData("/api/stripe/buy-credits", """{"credits":1e400}""", "$.credits")]
    [InlineData("/api/user/auto-topup", """{"enabled":true,"threshold":1e400,"amount":1000}""", "$.threshold")]
    [InlineData("/api/user/auto-topup", """{"enabled":true,"threshold":500,"amount":-1e400}""", "$.amount")]
    [InlineData("/api/orgs/{org}/credits", """{"amount":1e400}""", "$.amount")]
    [InlineData("/api/orgs/{org}/settings", """{"autoTopupAmount":1e400}""", "$.autoTopupAmount")]
    public async Task Numbers_out_of_range_answer_400_not_500(string path, string json, string where)
    {
        var user = await server.CreateUserAsync();
        await using var db = server.NewDbContext();
        var orgId = Guid.NewGuid().ToString();
        db.Orgs.Add(new Org { Id = orgId, Name = "Range Org", Slug = "range-" + orgId[..8], OwnerId = user.Id, AutoTopupAmount = 2000, AutoTopupThreshold = 500 });
        db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = user.Id, Role = OrgRole.Owner });
        await db.SaveChangesAsync();
        using var client = server.ClientFor(user);
        using var request = new HttpRequestMessage(path.EndsWith("/settings") ? HttpMethod.Patch : HttpMethod.Post, path.Replace("{org}", orgId))
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await BodyOf(response);
        Assert.Equal(("invalid_request_body", $"The number at {where} is out of range."), ((string?)body["error"], (string?)body["message"]));
        Assert.DoesNotContain(Stripe.PaymentIntents.Values, p => (string?)p["metadata"]!["userId"] == user.Id);
        var stored = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.False(stored.AutoTopupEnabled);
    }
}

/// <summary>The server without a Stripe key: payment routes say so, everything else works.</summary>
public sealed class WithoutStripeTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Payment_routes_answer_503_and_the_rest_works()
    {
        var user = await server.CreateUserAsync(credits: 100);
        using var client = server.ClientFor(user);
        var buy = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 500 });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, buy.StatusCode);
        Assert.Contains("Codebuff:Stripe:SecretKey", (string)(await buy.Content.ReadFromJsonAsync<JsonObject>())!["error"]!);
        var webhook = await server.Client.PostAsync("/api/stripe/webhook", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, webhook.StatusCode);

        var usage = await (await client.GetAsync("/api/user/usage")).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(100, (int)usage!["balance"]!["totalRemaining"]!);
        Assert.False((bool)usage["autoTopupTriggered"]!);
    }
}
