using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Payments;

public sealed class AutoTopUpTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    FakeStripe Stripe => server.Stripe;

    /// <summary>A user with 600 credits, a saved card and auto top-up at threshold 500 / amount 1000.</summary>
    async Task<(TestUser User, string CustomerId)> UserWithAutoTopUpAsync(bool declines = false)
    {
        var user = await server.CreateUserAsync(credits: 600);
        var customerId = Stripe.AddCustomer(new() { ["user_id"] = user.Id });
        Stripe.AddCard(customerId, declines);
        await using var db = server.NewDbContext();
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.StripeCustomerId, customerId));
        using var client = server.ClientFor(user);
        var set = await client.PostAsJsonAsync("/api/user/auto-topup", new { enabled = true, threshold = 500, amount = 1000 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        return (user, customerId);
    }

    /// <summary>50 charges of 10 credits submitted through the billing queue at once; returns once all 50 are written.</summary>
    async Task Charge50Async(string userId)
    {
        var queue = server.Services.GetRequiredService<ChargeQueue>();
        // SubmitAsync answers false when a write took longer than the commit wait (it is journaled and lands later), so
        // completion is checked in the database.
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => queue.SubmitAsync(new Charge(
            Guid.NewGuid(), userId, null, $"gen-{Guid.NewGuid():N}", DateTime.UtcNow, null, null, "m", null, null, "\"\"",
            1, 0, null, 1, 0.1m, 10, false, null, true)))));
        await using var db = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(async () => await db.Messages.CountAsync(m => m.UserId == userId) == 50, "all 50 charges written");
    }

    /// <summary>
    /// 600 credits, 50 concurrent charges of 10 take the balance to 100, far below the threshold of 500 — every charge
    /// after the 10th crosses it. Exactly one Stripe charge of 1000 cents and one grant result.
    /// </summary>
    [Fact]
    public async Task Fifty_concurrent_charges_crossing_the_threshold_charge_the_card_once()
    {
        var (user, customerId) = await UserWithAutoTopUpAsync();
        await Charge50Async(user.Id);

        await using var db = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(() => db.CreditLedger.AnyAsync(g => g.UserId == user.Id && g.OperationId.StartsWith("auto-topup-")), "the auto top-up grant");
        await Task.Delay(500); // let any stray evaluation finish
        Assert.Equal(1, Stripe.SucceededCharges(customerId));
        var grants = await db.CreditLedger.AsNoTracking().Where(g => g.UserId == user.Id && g.OperationId.StartsWith("auto-topup-")).ToListAsync();
        var grant = Assert.Single(grants);
        Assert.Equal((1000, GrantType.Purchase, "Auto top-up of 1000 credits"), (grant.Principal, grant.Type, grant.Description));
        var intent = Stripe.PaymentIntents.Values.Single(p => (string?)p["customer"] == customerId);
        Assert.Equal(grant.OperationId, (string)intent["metadata"]!["operationId"]!);
        Assert.Equal("auto-topup", (string)intent["metadata"]!["type"]!);

        using var client = server.ClientFor(user);
        var usage = await client.GetFromJsonAsync<JsonObject>("/api/user/usage");
        Assert.Equal(1100, (int)usage!["balance"]!["totalRemaining"]!);
        Assert.False((bool)usage["autoTopupTriggered"]!); // above the threshold again: nothing more to do
    }

    /// <summary>A declined card: every call is still billed, auto top-up turns itself off and says why.</summary>
    [Fact]
    public async Task A_declined_card_disables_auto_top_up_with_a_reason_and_calls_complete()
    {
        var (user, customerId) = await UserWithAutoTopUpAsync(declines: true);
        await Charge50Async(user.Id);

        await using var db = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(async () => !await db.Users.Where(u => u.Id == user.Id).Select(u => u.AutoTopupEnabled).SingleAsync(), "auto top-up disabled");
        Assert.Equal(50, await db.Messages.CountAsync(m => m.UserId == user.Id));
        Assert.Equal(100, await db.CreditLedger.Where(g => g.UserId == user.Id).SumAsync(g => g.Balance));
        Assert.Equal(0, Stripe.SucceededCharges(customerId));

        using var client = server.ClientFor(user);
        var profile = await client.GetFromJsonAsync<JsonObject>("/api/user/profile");
        Assert.False((bool)profile!["auto_topup_enabled"]!);
        Assert.Equal("Your card was declined: Your card was declined.", (string)profile["auto_topup_blocked_reason"]!);
        var settings = await client.GetFromJsonAsync<JsonObject>("/api/user/auto-topup");
        Assert.Equal("Your card was declined: Your card was declined.", (string)settings!["auto_topup_blocked_reason"]!);

        // Turning it on again clears the reason.
        await client.PostAsJsonAsync("/api/user/auto-topup", new { enabled = true, threshold = 50, amount = 1000 });
        Assert.Null((await client.GetFromJsonAsync<JsonObject>("/api/user/profile"))!["auto_topup_blocked_reason"]);
    }

    /// <summary>The attack: a suspended user's CLI token still reads usage, and each read below the threshold charged the card and granted credits.</summary>
    [Fact]
    public async Task A_banned_users_card_is_never_charged_automatically()
    {
        var (user, customerId) = await UserWithAutoTopUpAsync();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(user.Id),
                new Message { Id = $"gen-{Guid.NewGuid():N}", UserId = user.Id, Model = "m", Response = "\"\"", Credits = 200, OutputTokens = 1, FinishedAt = DateTime.UtcNow },
                deduct: true);
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await Codebuff.Server.Auth.Suspension.SetAsync(db, db.Users.Where(u => u.Id == user.Id), banned: true, CancellationToken.None);
        }
        using var client = server.ClientFor(user);
        var usage = await client.GetFromJsonAsync<JsonObject>("/api/user/usage");
        Assert.False((bool)usage!["autoTopupTriggered"]!);
        Assert.Equal(400, (int)usage["balance"]!["totalRemaining"]!);
        Assert.Equal(0, Stripe.SucceededCharges(customerId));
    }

    /// <summary>A usage read evaluates auto top-up and reports that it triggered.</summary>
    [Fact]
    public async Task A_usage_read_below_the_threshold_tops_up_and_says_so()
    {
        var (user, customerId) = await UserWithAutoTopUpAsync();
        await using (var scope = server.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(user.Id),
                new Message { Id = $"gen-{Guid.NewGuid():N}", UserId = user.Id, Model = "m", Response = "\"\"", Credits = 200, OutputTokens = 1, FinishedAt = DateTime.UtcNow },
                deduct: true);
        using var client = server.ClientFor(user);
        var usage = await client.GetFromJsonAsync<JsonObject>("/api/user/usage");
        Assert.True((bool)usage!["autoTopupTriggered"]!);
        Assert.Equal(1400, (int)usage["balance"]!["totalRemaining"]!);
        Assert.Equal(1, Stripe.SucceededCharges(customerId));
    }

    [Fact]
    public async Task Auto_top_up_settings_validate_as_the_spec_says()
    {
        var user = await server.CreateUserAsync();
        using var client = server.ClientFor(user);
        async Task<(HttpStatusCode, JsonObject)> Post(object body)
        {
            var r = await client.PostAsJsonAsync("/api/user/auto-topup", body);
            return (r.StatusCode, (await r.Content.ReadFromJsonAsync<JsonObject>())!);
        }

        var (status, body) = await Post(new { enabled = true, threshold = 500 });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Invalid request data", (string)body["error"]!);
        Assert.Equal("amount", (string)body["issues"]![0]!["path"]![0]!);
        (status, body) = await Post(new { enabled = true, threshold = (int?)null, amount = 1000 });
        Assert.Equal("Threshold and amount are required when enabling auto top-up", (string)body["error"]!);
        (status, body) = await Post(new { enabled = true, threshold = 100, amount = 10001 });
        Assert.Equal("Top-up amount must be between 500 and 10000 credits", (string)body["error"]!);
        (status, body) = await Post(new { enabled = "yes", threshold = 100, amount = 1000 });
        Assert.Equal("Expected boolean, received string", (string)body["issues"]![0]!["message"]!);

        (status, body) = await Post(new { enabled = true, threshold = 0, amount = 500 });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((true, 0, 500), ((bool)body["auto_topup_enabled"]!, (int)body["auto_topup_threshold"]!, (int)body["auto_topup_amount"]!));
        (status, body) = await Post(new { enabled = false, threshold = (int?)null, amount = (int?)null });
        Assert.Equal(HttpStatusCode.OK, status);
        await using var db = server.NewDbContext();
        var stored = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal((false, (int?)null, (int?)null), (stored.AutoTopupEnabled, stored.AutoTopupThreshold, stored.AutoTopupAmount));
    }

    /// <summary>
    /// The threshold is bounded too (upstream leaves it open, so a threshold of 2e9 charges the card on every read):
    /// above UserMaxThreshold (10000) and for 1e400 the answer is 400 and nothing is stored.
    /// </summary>
    [Fact]
    public async Task A_user_threshold_above_the_bound_is_refused()
    {
        var user = await server.CreateUserAsync();
        using var client = server.ClientFor(user);
        var r = await client.PostAsJsonAsync("/api/user/auto-topup", new { enabled = true, threshold = 2_000_000_000, amount = 1000 });
        Assert.Equal((HttpStatusCode.BadRequest, "Top-up threshold must be between 0 and 10000 credits"),
            (r.StatusCode, (string?)(await r.Content.ReadFromJsonAsync<JsonObject>())!["error"]));
        await using var db = server.NewDbContext();
        var stored = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal((false, (int?)null), (stored.AutoTopupEnabled, stored.AutoTopupThreshold));
    }

    /// <summary>
    /// The daily cap: with five automatic charges recorded in the last 24 hours (by any instance: the record is the
    /// shared table) a user below the threshold is not charged; once the oldest is more than a day old, the next read
    /// charges. Every automatic charge is listed on the credits page.
    /// </summary>
    [Fact]
    public async Task At_most_the_configured_number_of_automatic_charges_per_day_and_each_is_listed()
    {
        var (user, customerId) = await UserWithAutoTopUpAsync();
        var owner = $"user:{user.Id}";
        await using var db = server.NewDbContext();
        for (var i = 0; i < 5; i++)
        {
            var at = DateTime.UtcNow.AddHours(-1 - i);
            await db.Database.ExecuteSqlAsync($"INSERT INTO payments.auto_topup_charge (operation_id, owner, credits, status, created_at) VALUES ({$"earlier-{user.Id}-{i}"}, {owner}, 1000, 'succeeded', {at})");
        }
        await SpendAsync(user.Id, 200); // 400 < 500
        using var client = server.ClientFor(user);
        var usage = (await client.GetFromJsonAsync<JsonObject>("/api/user/usage"))!;
        Assert.False((bool)usage["autoTopupTriggered"]!);
        Assert.Equal(0, Stripe.SucceededCharges(customerId));

        await db.Database.ExecuteSqlAsync($"UPDATE payments.auto_topup_charge SET created_at = now() - interval '25 hours' WHERE operation_id = {$"earlier-{user.Id}-4"}");
        usage = (await client.GetFromJsonAsync<JsonObject>("/api/user/usage"))!;
        Assert.True((bool)usage["autoTopupTriggered"]!);
        Assert.Equal(1, Stripe.SucceededCharges(customerId));
        var recorded = await db.Database.SqlQuery<string>($"SELECT operation_id || ' ' || credits || ' ' || status AS \"Value\" FROM payments.auto_topup_charge WHERE owner = {owner} AND operation_id LIKE 'auto-topup-%'").SingleAsync();
        Assert.Matches($"^auto-topup-{user.Id}-\\S+ 1000 succeeded$", recorded);

        var page = await (await server.CookieClientAsync(user)).GetStringAsync("/profile?tab=usage");
        var table = page[page.IndexOf("id=\"auto-charges\"", StringComparison.Ordinal)..];
        Assert.Equal(6, System.Text.RegularExpressions.Regex.Matches(table[..table.IndexOf("</table>", StringComparison.Ordinal)], "<tr data-operation=").Count);
        Assert.Contains($"data-operation=\"{recorded.Split(' ')[0]}\" data-status=\"succeeded\"", table);
    }

    async Task SpendAsync(string userId, int credits)
    {
        await using var scope = server.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(userId),
            new Message { Id = $"gen-{Guid.NewGuid():N}", UserId = userId, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1, FinishedAt = DateTime.UtcNow },
            deduct: true);
    }
}
