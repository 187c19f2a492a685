using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Billing;

public sealed class UsageTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Personal_usage_has_the_cli_shape_with_every_grant_type()
    {
        var user = await server.CreateUserAsync(credits: 300);
        await using (var scope = server.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(user.Id), new Message
            {
                Id = "usage-test-" + user.Id, UserId = user.Id, Model = "m", Response = "\"\"", Credits = 120, FinishedAt = DateTime.UtcNow,
            }, deduct: true);

        var response = await server.ClientFor(user).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "cli-usage" });
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["type", "usage", "remainingBalance", "balanceBreakdown", "next_quota_reset", "autoTopupEnabled", "can_buy_credits"], body.Select(p => p.Key));
        // This server has no Stripe key: it says it sells no credits (the CLI then offers none).
        Assert.False(body["can_buy_credits"]!.GetValue<bool>());
        Assert.Equal("usage-response", (string?)body["type"]);
        Assert.Equal(120, (int)body["usage"]!);
        Assert.Equal(180, (int)body["remainingBalance"]!);
        Assert.Equal("""{"free":0,"referral":0,"purchase":0,"admin":180,"organization":0}""", body["balanceBreakdown"]!.ToJsonString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string?)body["next_quota_reset"]);
        Assert.False(body["autoTopupEnabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Org_usage_for_members_and_silent_fallback_for_outsiders()
    {
        var member = await server.CreateUserAsync(credits: 10);
        var outsider = await server.CreateUserAsync(credits: 20);
        var orgId = Guid.NewGuid().ToString();
        await using (var db = server.NewDbContext())
        {
            db.Orgs.Add(new Org { Id = orgId, Name = "Acme", Slug = "acme-" + orgId[..8], OwnerId = member.Id, AutoTopupThreshold = 5000, AutoTopupAmount = 20000 });
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = member.Id, Role = OrgRole.Owner });
            await db.SaveChangesAsync();
        }
        await using (var scope = server.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.Org(orgId), "org-" + orgId, member.Id, 7000, GrantType.Organization, "bought", null);

        var org = await (await server.ClientFor(member).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "x", orgId })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("""{"type":"usage-response","usage":0,"remainingBalance":7000,"balanceBreakdown":{},"next_quota_reset":null}""", org!.ToJsonString());

        var fallback = await (await server.ClientFor(outsider).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "x", orgId })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(20, (int)fallback!["remainingBalance"]!);
        // Organization credits never show in a member's personal balance.
        var personal = await (await server.ClientFor(member).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "x" })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(10, (int)personal!["remainingBalance"]!);
    }

    [Fact]
    public async Task Errors_use_the_cli_message_shapes()
    {
        var user = await server.CreateUserAsync();
        var notJson = await server.ClientFor(user).PostAsync("/api/v1/usage", new StringContent("nope"));
        Assert.Equal((HttpStatusCode.BadRequest, """{"message":"Invalid JSON in request body"}"""), (notJson.StatusCode, await notJson.Content.ReadAsStringAsync()));

        var schema = await server.ClientFor(user).PostAsJsonAsync("/api/v1/usage", new { orgId = 3 });
        var schemaBody = (await schema.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.BadRequest, schema.StatusCode);
        Assert.Equal("Invalid request body", (string?)schemaBody["message"]);
        Assert.Equal(["fingerprintId", "orgId"], schemaBody["issues"]!.AsArray().Select(i => (string?)i!["path"]![0]));

        // Valid JSON of the wrong kind is a schema failure, not "Invalid JSON"; so is an explicit null for an optional field.
        foreach (var wrong in new[] { "null", "[]", "42" })
        {
            var kind = await server.ClientFor(user).PostAsync("/api/v1/usage", new StringContent(wrong, System.Text.Encoding.UTF8, "application/json"));
            var kindBody = (await kind.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Equal((HttpStatusCode.BadRequest, "Invalid request body"), (kind.StatusCode, (string?)kindBody["message"]));
            Assert.Equal("invalid_type", (string?)kindBody["issues"]![0]!["code"]);
        }
        var nullOrg = await server.ClientFor(user).PostAsync("/api/v1/usage",
            new StringContent("""{"fingerprintId":"x","orgId":null}""", System.Text.Encoding.UTF8, "application/json"));
        var nullOrgBody = (await nullOrg.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(HttpStatusCode.BadRequest, nullOrg.StatusCode);
        Assert.Equal("Expected string, received null", (string?)nullOrgBody["issues"]![0]!["message"]);

        var anonymous = await server.Client.PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "x" });
        Assert.Equal((HttpStatusCode.Unauthorized, """{"message":"Authentication required"}"""), (anonymous.StatusCode, await anonymous.Content.ReadAsStringAsync()));

        var unknown = await server.Client.PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "x", authToken = "cb-pat-nope" });
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("Invalid auth token. You may have been logged out from the web portal. Please log in again.",
            (string?)(await unknown.Content.ReadFromJsonAsync<JsonObject>())!["message"]);
    }

    [Fact]
    public async Task Dashboard_usage_carries_the_full_balance()
    {
        var user = await server.CreateUserAsync(credits: 42);
        var body = await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/user/usage");
        Assert.Equal(42, (int)body!["balance"]!["totalRemaining"]!);
        Assert.Equal(42, (int)body["balance"]!["principals"]!["admin"]!);
        Assert.Equal(0, (int)body["usageThisCycle"]!);
        Assert.False(body["autoTopupTriggered"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/api/user/usage")).StatusCode);
    }
}
