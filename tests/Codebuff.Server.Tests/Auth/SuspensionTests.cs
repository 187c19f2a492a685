using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Agents;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Payments;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

/// <summary>
/// A ban bites everywhere (<see cref="Suspension"/>). The attack: a banned user's CLI token kept searching, running
/// agents, publishing and redeeming referrals (only chat and purchases refused). Stripe is configured (a fake) so the
/// purchase routes are live.
/// </summary>
public sealed class SuspensionTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    const string Suspended = """{"error":"account_suspended","message":"Your account has been suspended due to billing issues. Please contact support@codebuff.com to resolve this."}""";

    async Task BanAsync(TestUser user)
    {
        await using var db = server.NewDbContext();
        Assert.Equal(1, await Suspension.SetAsync(db, db.Users.Where(u => u.Id == user.Id), banned: true, CancellationToken.None));
    }

    [Fact]
    public async Task A_banned_user_is_refused_on_every_route_that_spends_publishes_or_grants()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var referrer = await server.CreateUserAsync();
        var publisher = await AgentTestData.CreatePublisherAsync(server, user);
        var orgId = await AgentTestData.CreateOrgAsync(server, user);
        var client = server.ClientFor(user);
        var started = await client.PostAsJsonAsync("/api/v1/agent-runs", new { action = "START", agentId = "before-the-ban" });
        var runId = (string)(await started.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!;
        string referralCode;
        await using (var db = server.NewDbContext())
            referralCode = (await db.Users.SingleAsync(u => u.Id == referrer.Id)).ReferralCode!;
        var (sessionsBefore, intentsBefore) = (server.Stripe.CheckoutSessions.Count, server.Stripe.PaymentIntents.Count);
        int keysBefore;
        await using (var db = server.NewDbContext())
            keysBefore = await db.Sessions.CountAsync(x => x.UserId == user.Id && x.Type == SessionType.Pat);

        await BanAsync(user);
        var routes = new (string Path, JsonObject Body)[]
        {
            ("/api/v1/chat/completions", new() { ["model"] = "openai/gpt-4o-mini", ["messages"] = new JsonArray(), ["codebuff_metadata"] = new JsonObject { ["run_id"] = runId } }),
            ("/api/v1/web-search", new() { ["query"] = "how to" }),
            ("/api/v1/docs-search", new() { ["libraryTitle"] = "react" }),
            ("/api/v1/agent-runs", new() { ["action"] = "START", ["agentId"] = "after-the-ban" }),
            ($"/api/v1/agent-runs/{runId}/steps", new() { ["stepNumber"] = 1, ["credits"] = 5 }),
            ("/api/agents/publish", new() { ["data"] = new JsonArray(AgentTestData.Def("banned-agent", publisher)) }),
            ("/api/referrals", new() { ["referralCode"] = referralCode }),
            ("/api/stripe/buy-credits", new() { ["credits"] = 500 }),
            ($"/api/orgs/{orgId}/credits", new() { ["amount"] = 5000 }),
            ("/api/user/auto-topup", new() { ["enabled"] = true, ["threshold"] = 100, ["amount"] = 500 }),
            ("/api/publishers", new() { ["id"] = "after-the-ban", ["name"] = "After the ban" }),
            ("/api/orgs", new() { ["name"] = "After the ban" }),
            ($"/api/orgs/{orgId}/members", new() { ["email"] = referrer.Email, ["role"] = "member" }),
            ($"/api/orgs/{orgId}/invitations", new() { ["email"] = "someone@example.com", ["role"] = "member" }),
            ("/api/api-keys", new() { ["name"] = "after the ban" }),
        };
        foreach (var (path, body) in routes)
        {
            var response = await client.PostAsJsonAsync(path, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((response.StatusCode, text) == (HttpStatusCode.Forbidden, Suspended), $"{path}: {(int)response.StatusCode} {text}");
        }

        // The token still authenticates (the CLI can say why, and log out) ...
        var me = await client.GetFromJsonAsync<JsonObject>("/api/v1/me?fields=id,banned");
        Assert.True((bool)me!["banned"]!);
        // ... and nothing was spent, published or granted.
        await using (var db = server.NewDbContext())
        {
            Assert.Equal([runId], await db.AgentRuns.Where(r => r.UserId == user.Id).Select(r => r.Id).ToListAsync());
            Assert.False(await db.AgentSteps.AnyAsync(s => s.AgentRunId == runId));
            Assert.False(await db.Messages.AnyAsync(m => m.UserId == user.Id));
            Assert.False(await db.AgentConfigs.AnyAsync(a => a.PublisherId == publisher));
            Assert.False(await db.Referrals.AnyAsync(r => r.ReferredId == user.Id));
            Assert.Equal(1, await db.CreditLedger.CountAsync(g => g.UserId == user.Id && g.OrgId == null));
            Assert.False(await db.CreditLedger.AnyAsync(g => g.UserId == referrer.Id || g.OrgId == orgId));
            Assert.Equal([publisher], await db.Publishers.Where(p => p.CreatedBy == user.Id).Select(p => p.Id).ToListAsync());
            Assert.Equal([orgId], await db.Orgs.Where(o => o.OwnerId == user.Id).Select(o => o.Id).ToListAsync());
            Assert.Equal(keysBefore, await db.Sessions.CountAsync(x => x.UserId == user.Id && x.Type == SessionType.Pat));
            Assert.False(await db.OrgInvites.AnyAsync(i => i.OrgId == orgId));
            Assert.False((await db.Users.SingleAsync(u => u.Id == user.Id)).AutoTopupEnabled);
        }
        Assert.Equal((sessionsBefore, intentsBefore), (server.Stripe.CheckoutSessions.Count, server.Stripe.PaymentIntents.Count));
    }

    [Fact]
    public async Task A_ban_ends_the_web_sessions_and_a_banned_users_cookie_signs_nobody_in()
    {
        var user = await server.CreateUserAsync();
        var cookie = await server.WebSessionTokenAsync(user);
        await BanAsync(user);
        await using (var db = server.NewDbContext())
            Assert.False(await db.Sessions.AnyAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));

        // A web session that outlived the ban (the flag set by hand) does not sign anyone in either.
        var outlived = await server.WebSessionTokenAsync(user);
        foreach (var token in new[] { cookie, outlived })
        {
            using var browser = new HttpClient { BaseAddress = server.BaseAddress };
            browser.DefaultRequestHeaders.Add("Cookie", $"{WebSession.Cookie}={token}");
            var profile = await browser.GetAsync("/api/user/profile");
            Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Unauthorized"}"""), (profile.StatusCode, await profile.Content.ReadAsStringAsync()));
        }
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user).GetAsync("/api/v1/me")).StatusCode);

        // The dashboard's pages (whose forms redeem referral codes and buy credits) take API keys too: not a banned user's.
        using var script = Web.PageForms.Client(server.BaseAddress, bearer: user.ApiKey);
        var page = await script.GetAsync("/profile?tab=referrals");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/login", new Uri(server.BaseAddress, page.Headers.Location!).AbsolutePath);
    }
}
