using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Billing;

public sealed class ReferralTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    async Task<string> CodeOfAsync(TestUser user)
    {
        await using var db = server.NewDbContext();
        return (await db.Users.SingleAsync(u => u.Id == user.Id)).ReferralCode!;
    }

    static async Task<(HttpStatusCode Status, JsonObject Body)> RedeemAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/referrals", body);
        return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonObject>())!);
    }

    [Fact]
    public async Task Redeeming_records_the_referral_and_grants_both_sides_in_one_go()
    {
        var referrer = await server.CreateUserAsync();
        var referred = await server.CreateUserAsync();
        var (status, body) = await RedeemAsync(server.ClientFor(referred), new { referralCode = await CodeOfAsync(referrer) });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"message":"Referral applied successfully!","credits_redeemed":250}""", body.ToJsonString());
        await using var db = server.NewDbContext();
        var referral = await db.Referrals.SingleAsync(r => r.ReferredId == referred.Id);
        Assert.Equal((referrer.Id, ReferralStatus.Completed, 250), (referral.ReferrerId, referral.Status, referral.Credits));
        Assert.Equal(referral.CreatedAt, referral.CompletedAt);
        var grants = await db.CreditLedger.Where(g => g.UserId == referrer.Id || g.UserId == referred.Id).ToListAsync();
        Assert.Equal(2, grants.Count);
        Assert.All(grants, g => Assert.Equal((GrantType.Referral, 250, 250, 40), (g.Type, g.Principal, g.Balance, g.Priority)));
        var referredReset = (await db.Users.SingleAsync(u => u.Id == referred.Id)).NextQuotaReset;
        Assert.All(grants, g => Assert.Equal(referredReset, g.ExpiresAt));
        var ids = grants.Select(g => g.OperationId).Order().ToList();
        Assert.Matches("^ref-[0-9a-f-]{36}-referred$", ids[0]);
        Assert.Equal(ids[0].Replace("-referred", "-referrer"), ids[1]);
    }

    [Fact]
    public async Task An_overdue_monthly_reset_runs_before_the_bonuses_take_its_date()
    {
        var referrer = await server.CreateUserAsync();
        var referred = await server.CreateUserAsync();
        var overdue = DateTime.UtcNow.AddDays(-3);
        overdue = overdue.AddTicks(-(overdue.Ticks % TimeSpan.TicksPerSecond)); // PostgreSQL keeps microseconds, not ticks
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == referred.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.NextQuotaReset, overdue));

        var (status, _) = await RedeemAsync(server.ClientFor(referred), new { referralCode = await CodeOfAsync(referrer) });

        Assert.Equal(HttpStatusCode.OK, status);
        await using var check = server.NewDbContext();
        var reset = (await check.Users.SingleAsync(u => u.Id == referred.Id)).NextQuotaReset!.Value;
        Assert.Equal(QuotaCalendar.AddMonth(overdue), reset);
        var grants = await check.CreditLedger.Where(g => g.UserId == referrer.Id || g.UserId == referred.Id).ToListAsync();
        // The reset's free grant (and no monthly referral grant: the referral did not exist before this period) ...
        var free = Assert.Single(grants, g => g.Type == GrantType.Free);
        Assert.Equal((referred.Id, $"free-{referred.Id}-{reset:yyyy-MM-dd'T'HH:mm}", FreeCredits.Initial, (DateTime?)reset),
            (free.UserId, free.OperationId, free.Principal, free.ExpiresAt));
        // ... and both bonuses, alive until the new reset rather than expired on arrival.
        var bonuses = grants.Where(g => g.Type == GrantType.Referral).ToList();
        Assert.Equal(2, bonuses.Count);
        Assert.All(bonuses, g => Assert.Equal(reset, g.ExpiresAt));
        var balance = await server.ClientFor(referred).GetFromJsonAsync<JsonObject>("/api/user/usage");
        Assert.Equal(FreeCredits.Initial + Referrals.CreditsPerSide, (int)balance!["balance"]!["totalRemaining"]!);
    }

    [Fact]
    public async Task Every_refusal_has_its_message_and_writes_nothing()
    {
        var referrer = await server.CreateUserAsync();
        var other = await server.CreateUserAsync();
        var me = await server.CreateUserAsync();
        var client = server.ClientFor(me);

        Assert.Equal((HttpStatusCode.NotFound, "This referral code doesn't exist! Try again or reach out to support@codebuff.com if the problem persists."),
            Pick(await RedeemAsync(client, new { referralCode = "ref-nope" })));
        Assert.Equal((HttpStatusCode.BadRequest, "Nice try bud, you can't use your own referral code."),
            Pick(await RedeemAsync(client, new { referralCode = await CodeOfAsync(me) })));

        // me referred `referrer` earlier; now `referrer`'s code would be double dipping.
        Assert.Equal(HttpStatusCode.OK, (await RedeemAsync(server.ClientFor(referrer), new { referralCode = await CodeOfAsync(me) })).Status);
        Assert.Equal((HttpStatusCode.Conflict, "You were referred by this user already. No double dipping, refer someone new!"),
            Pick(await RedeemAsync(client, new { referralCode = await CodeOfAsync(referrer) })));

        Assert.Equal(HttpStatusCode.OK, (await RedeemAsync(client, new { referralCode = await CodeOfAsync(other) })).Status);
        Assert.Equal((HttpStatusCode.Conflict, "You've already been referred by someone. Each user can only be referred once."),
            Pick(await RedeemAsync(client, new { referralCode = await CodeOfAsync(referrer) })));

        await using var db = server.NewDbContext();
        Assert.Equal(2, await db.Referrals.CountAsync(r => r.ReferredId == me.Id || r.ReferrerId == me.Id));
    }

    [Fact]
    public async Task A_referrer_at_the_limit_is_refused_even_under_concurrent_redemptions()
    {
        var referrer = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == referrer.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.ReferralLimit, 2));
        var code = await CodeOfAsync(referrer);
        var users = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => server.CreateUserAsync()));

        var results = await Task.WhenAll(users.Select(u => RedeemAsync(server.ClientFor(u), new { referralCode = code })));

        Assert.Equal(2, results.Count(r => r.Status == HttpStatusCode.OK));
        Assert.All(results.Where(r => r.Status != HttpStatusCode.OK), r =>
            Assert.Equal((HttpStatusCode.BadRequest, "This referrer has maxxed out the number of referrals they can make"), Pick(r)));
        await using var check = server.NewDbContext();
        Assert.Equal(2, await check.Referrals.CountAsync(r => r.ReferrerId == referrer.Id));
        Assert.Equal(2, await check.CreditLedger.CountAsync(g => g.UserId == referrer.Id));
    }

    [Fact]
    public async Task Bad_bodies_and_missing_credentials_are_refused()
    {
        var me = await server.CreateUserAsync();
        var bad = await server.ClientFor(me).PostAsync("/api/referrals", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode.BadRequest, "Invalid request body"), (bad.StatusCode, (string?)(await bad.Content.ReadFromJsonAsync<JsonObject>())!["error"]));
        Assert.Equal((HttpStatusCode.BadRequest, "Invalid request body"), Pick(await RedeemAsync(server.ClientFor(me), new { referralCode = 5 })));
        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthorized"), Pick(await RedeemAsync(server.Client, new { referralCode = "ref-x" })));
        // The legacy body token works.
        var referrer = await server.CreateUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await RedeemAsync(server.Client, new { referralCode = await CodeOfAsync(referrer), authToken = me.ApiKey })).Status);
    }

    [Fact]
    public async Task A_web_session_redeems_with_only_a_code_and_gets_the_missing_code_message()
    {
        var referrer = await server.CreateUserAsync();
        var me = await server.CreateUserAsync();
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using (var db = server.NewDbContext())
        {
            db.Sessions.Add(new Session
            {
                SessionToken = server.Services.GetRequiredService<Codebuff.Server.Auth.TokenHasher>().Hash(token), UserId = me.Id,
                Type = SessionType.Web, Expires = DateTime.UtcNow.AddDays(1),
            });
            await db.SaveChangesAsync();
        }
        using var browser = new HttpClient { BaseAddress = server.BaseAddress };
        browser.DefaultRequestHeaders.Add("Cookie", $"{Codebuff.Server.Auth.WebSession.Cookie}={token}");

        // With a session, a missing code (even a body that is not JSON) is "Missing referral code", not a schema error.
        Assert.Equal((HttpStatusCode.BadRequest, "Missing referral code"), Pick(await RedeemAsync(browser, new { })));
        var notJson = await browser.PostAsync("/api/referrals", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode.BadRequest, "Missing referral code"), (notJson.StatusCode, (string?)(await notJson.Content.ReadFromJsonAsync<JsonObject>())!["error"]));
        // Without one, the same empty body fails the token path's schema first.
        Assert.Equal((HttpStatusCode.BadRequest, "Invalid request body"), Pick(await RedeemAsync(server.ClientFor(me), new { })));

        Assert.Equal(HttpStatusCode.OK, (await RedeemAsync(browser, new { referralCode = await CodeOfAsync(referrer) })).Status);
        await using var check = server.NewDbContext();
        Assert.Equal(referrer.Id, (await check.Referrals.SingleAsync(r => r.ReferredId == me.Id)).ReferrerId);
    }

    [Fact]
    public async Task Lists_and_describes_referrals()
    {
        var referrer = await server.CreateUserAsync();
        var friend = await server.CreateUserAsync();
        var code = await CodeOfAsync(referrer);
        await RedeemAsync(server.ClientFor(friend), new { referralCode = code });

        var list = await server.ClientFor(referrer).GetFromJsonAsync<JsonObject>("/api/referrals");
        Assert.Equal(code, (string?)list!["referralCode"]);
        Assert.Equal(5, (int)list["referralLimit"]!);
        var item = Assert.Single(list["referrals"]!.AsArray())!;
        Assert.Equal((friend.Id, friend.Email, 250), ((string?)item["id"], (string?)item["email"], (int)item["credits"]!));
        var friendView = await server.ClientFor(friend).GetFromJsonAsync<JsonObject>("/api/referrals");
        Assert.Equal(referrer.Id, (string?)friendView!["referredBy"]!["id"]);
        // The keys as the wire spells them (api.md §6: id, name, email, credits); reading into a JsonObject above ignores
        // case, and before #29 these nested keys went out as Id/Name/Email/Credits.
        Assert.Contains($$"""
            "referrals":[{"id":"{{friend.Id}}","name":
            """.Trim(), await server.ClientFor(referrer).GetStringAsync("/api/referrals"));
        Assert.Contains($$"""
            "referredBy":{"id":"{{referrer.Id}}","name":
            """.Trim(), await server.ClientFor(friend).GetStringAsync("/api/referrals"));

        var described = await server.ClientFor(referrer).GetFromJsonAsync<JsonObject>($"/api/referrals/{code}");
        Assert.True(described!["isSameUser"]!.GetValue<bool>());
        Assert.Equal(1, (int)described["status"]!["details"]!["referralCount"]!);
        Assert.Equal($"http://localhost:5000/referrals/{code}", (string?)described["status"]!["referralLink"]);
        var unknown = await server.Client.GetAsync("/api/referrals/ref-unknown");
        Assert.Equal((HttpStatusCode.BadRequest, "Invalid referral code"), (unknown.StatusCode, (string?)(await unknown.Content.ReadFromJsonAsync<JsonObject>())!["error"]));
    }

    static (HttpStatusCode, string?) Pick((HttpStatusCode Status, JsonObject Body) r) => (r.Status, (string?)r.Body["error"]);
}
