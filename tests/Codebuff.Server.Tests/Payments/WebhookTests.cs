using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Payments;

public sealed class WebhookTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    FakeStripe Stripe => server.Stripe;

    /// <summary>
    /// Two Checkout purchases; each completion event is delivered 100 times, all 200 deliveries at once in shuffled
    /// order: each purchase is granted exactly once, as a non-expiring purchase grant with the metadata's operation id.
    /// </summary>
    [Fact]
    public async Task Each_checkout_event_replayed_100_times_out_of_order_grants_once()
    {
        var user = await server.CreateUserAsync();
        var first = await server.CheckoutAsync(user, 1200);
        var second = await server.CheckoutAsync(user, 700);
        var session = Stripe.CheckoutSessions[first];
        Assert.Equal($"http://localhost:5000/payment-success?session_id={{CHECKOUT_SESSION_ID}}&purchase=credits&amt=1200", (string)session["success_url"]!);
        Assert.Equal("http://localhost:5000/usage?purchase_canceled=true", (string)session["cancel_url"]!);
        Assert.Equal("off_session", (string)session["setup_future_usage"]!);
        Assert.Equal(1200, (long)session["amount_total"]!);
        var operationId = (string)session["metadata"]!["operationId"]!;
        Assert.StartsWith($"buy-{user.Id}-", operationId);
        Assert.Equal(operationId, (string)session["payment_intent_data_metadata"]!["operationId"]!);

        var events = new[] { Stripe.CheckoutCompleted(first), Stripe.CheckoutCompleted(second) };
        var deliveries = Enumerable.Range(0, 200).Select(i => events[i % 2]).OrderBy(_ => Random.Shared.Next()).ToList();
        var responses = await Task.WhenAll(deliveries.Select(body => server.DeliverAsync(body)));
        foreach (var r in responses) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.True((await responses[0].Content.ReadFromJsonAsync<JsonObject>())!["received"]!.GetValue<bool>());

        await using var db = server.NewDbContext();
        var grants = await db.CreditLedger.Where(g => g.UserId == user.Id && g.Type == GrantType.Purchase).OrderBy(g => g.Principal).ToListAsync();
        Assert.Equal([700, 1200], grants.Select(g => g.Principal));
        var grant = grants[1];
        Assert.Equal(operationId, grant.OperationId);
        Assert.Equal(1200, grant.Balance);
        Assert.Null(grant.ExpiresAt);
        Assert.Equal($"Purchased 1200 credits via checkout session {first}", grant.Description);
    }

    [Fact]
    public async Task A_bad_signature_is_refused_with_400_and_nothing_is_written()
    {
        var user = await server.CreateUserAsync();
        var sessionId = await server.CheckoutAsync(user, 900);
        var body = Stripe.CheckoutCompleted(sessionId);

        var wrongSecret = await server.DeliverAsync(body, FakeStripe.Sign(body, "whsec_someone_else"));
        var tampered = await server.DeliverAsync(body.Replace("\"900\"", "\"90000\""), FakeStripe.Sign(body));
        var stale = await server.DeliverAsync(body, FakeStripe.Sign(body, timestamp: DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds()));
        var missing = await server.DeliverAsync(body, "");
        foreach (var r in new[] { wrongSecret, tampered, stale, missing })
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var message = (string)(await r.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["message"]!;
            Assert.StartsWith("Webhook Error: ", message);
        }
        await using var db = server.NewDbContext();
        Assert.False(await db.CreditLedger.AnyAsync(g => g.UserId == user.Id && g.Type == GrantType.Purchase));

        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(body)).StatusCode);
        Assert.Equal(900, await db.CreditLedger.Where(g => g.UserId == user.Id && g.Type == GrantType.Purchase).SumAsync(g => g.Balance));
    }

    /// <summary>
    /// A purchase of 1000 of which 300 were spent is refunded: the grant ends (its 700 leave the balance, the record and
    /// the spent 300 stay). A second purchase spent into debt is refunded too: not revoked, recorded for an operator
    /// and reported in the answer.
    /// </summary>
    [Fact]
    public async Task A_refund_after_partial_spend_revokes_the_grant_and_a_grant_in_debt_is_reported()
    {
        var user = await server.CreateUserAsync();
        var owner = LedgerOwner.User(user.Id);
        var sessionId = await server.CheckoutAsync(user, 1000);
        var completed = Stripe.CheckoutCompleted(sessionId);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(completed)).StatusCode);
        var intentId = IntentOf(completed);
        await ChargeAsync(user.Id, 300);

        var refund = await server.DeliverAsync(Stripe.ChargeRefunded(intentId));
        Assert.Equal(HttpStatusCode.OK, refund.StatusCode);
        await using (var db = server.NewDbContext())
        {
            var grant = await db.CreditLedger.SingleAsync(g => g.UserId == user.Id && g.Type == GrantType.Purchase);
            Assert.Equal((1000, 700), (grant.Principal, grant.Balance));
            Assert.NotNull(grant.ExpiresAt);
            Assert.Contains("Refund for charge", grant.Description);
        }
        await using (var scope = server.Services.CreateAsyncScope())
            Assert.Equal(0, (await scope.ServiceProvider.GetRequiredService<CreditLedger>().GetBalanceAsync(owner)).Breakdown["purchase"]);

        // Into debt: 500 bought, 900 spent.
        var second = await server.CheckoutAsync(user, 500);
        var secondCompleted = Stripe.CheckoutCompleted(second);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(secondCompleted)).StatusCode);
        var secondIntent = IntentOf(secondCompleted);
        await ChargeAsync(user.Id, 900);
        var inDebt = await server.DeliverAsync(Stripe.ChargeRefunded(secondIntent));
        Assert.Equal(HttpStatusCode.OK, inDebt.StatusCode);
        Assert.Contains("in debt", (string)(await inDebt.Content.ReadFromJsonAsync<JsonObject>())!["warning"]!);
        await using (var db = server.NewDbContext())
        {
            var grant = await db.CreditLedger.Where(g => g.UserId == user.Id && g.Type == GrantType.Purchase && g.ExpiresAt == null).SingleAsync();
            Assert.True(grant.Balance < 0);
            var failure = await db.SyncFailures.SingleAsync(f => f.LastError.Contains(grant.OperationId));
            Assert.Equal(5, failure.RetryCount);
            Assert.StartsWith("refund-ch_", failure.Id);
        }
    }

    [Fact]
    public async Task The_fifth_dispute_within_14_days_bans_the_customer()
    {
        var user = await server.CreateUserAsync();
        var intents = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var sessionId = await server.CheckoutAsync(user, 500);
            var completed = Stripe.CheckoutCompleted(sessionId);
            Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(completed)).StatusCode);
            intents.Add(IntentOf(completed));
        }
        var disputes = intents.Select(i => Stripe.DisputeCreated(i)).ToList();
        for (var i = 0; i < 4; i++)
        {
            // Each of the first four delivered twice: a replay is the same dispute, not another one.
            Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(disputes[i])).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(disputes[i])).StatusCode);
        }
        await using var db = server.NewDbContext();
        Assert.False(await db.Users.Where(u => u.Id == user.Id).Select(u => u.Banned).SingleAsync());

        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(disputes[4])).StatusCode);
        Assert.True(await db.Users.Where(u => u.Id == user.Id).Select(u => u.Banned).SingleAsync());

        using var client = server.ClientFor(user);
        var refused = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits = 500 });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("account_suspended", (string)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]!);
    }

    /// <summary>
    /// Buy 1000, spend 300, dispute: the purchase is taken back whole — its 700 unspent credits end and the 300 spent
    /// become debt (the balance drops by 1000), auto top-up is switched off, and a replay takes nothing more. The
    /// dispute closed as won restores the purchase (balance back where it was); a replay of that restores nothing more.
    /// Both steps are recorded in payments.dispute_clawback.
    /// </summary>
    [Fact]
    public async Task A_dispute_takes_the_purchase_back_whole_and_a_won_dispute_restores_it()
    {
        var user = await server.CreateUserAsync();
        var owner = LedgerOwner.User(user.Id);
        var sessionId = await server.CheckoutAsync(user, 1000);
        var completed = Stripe.CheckoutCompleted(sessionId);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(completed)).StatusCode);
        var intentId = IntentOf(completed);
        var operationId = (string)Stripe.CheckoutSessions[sessionId]["metadata"]!["operationId"]!;
        await ChargeAsync(user.Id, 300);
        var before = await BalanceAsync(owner);
        Assert.Equal(700, before.Breakdown["purchase"]);
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.AutoTopupEnabled, true)
                .SetProperty(u => u.AutoTopupThreshold, 500).SetProperty(u => u.AutoTopupAmount, 1000));

        var disputeId = NewDisputeId();
        var created = Stripe.DisputeCreated(intentId, disputeId);
        var answer = await server.DeliverAsync(created);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(created)).StatusCode); // a replay takes nothing more

        var taken = await BalanceAsync(owner);
        Assert.Equal(before.NetBalance - 1000, taken.NetBalance);
        Assert.Equal(0, taken.Breakdown["purchase"]);
        await using (var db = server.NewDbContext())
        {
            var grant = await db.CreditLedger.AsNoTracking().SingleAsync(g => g.OperationId == operationId);
            Assert.Equal((1000, -300), (grant.Principal, grant.Balance)); // the 300 spent is now owed
            Assert.Null(grant.ExpiresAt);
            Assert.Contains($"Taken back: dispute {disputeId}", grant.Description);
            var user1 = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
            Assert.False(user1.AutoTopupEnabled); // the card in dispute is not charged to pay the debt
            var record = await db.Database.SqlQuery<string>($"SELECT operation_id || ' ' || principal || ' ' || unspent || ' ' || status AS \"Value\" FROM payments.dispute_clawback WHERE dispute_id = {disputeId}").SingleAsync();
            Assert.Equal($"{operationId} 1000 700 taken", record);
        }

        var won = Stripe.DisputeClosed(intentId, disputeId, "won");
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(won)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(won)).StatusCode); // restored once
        var restored = await BalanceAsync(owner);
        Assert.Equal(before.NetBalance, restored.NetBalance);
        Assert.Equal(700, restored.Breakdown["purchase"]);
        await using (var db = server.NewDbContext())
        {
            var grant = await db.CreditLedger.AsNoTracking().SingleAsync(g => g.OperationId == operationId);
            Assert.Equal((1000, 700), (grant.Principal, grant.Balance));
            var status = await db.Database.SqlQuery<string>($"SELECT status || ' ' || (closed_at IS NOT NULL) AS \"Value\" FROM payments.dispute_clawback WHERE dispute_id = {disputeId}").SingleAsync();
            Assert.Equal("restored true", status);
        }
    }

    /// <summary>A dispute of a purchase that is lost keeps the credits taken back; closing it again changes nothing.</summary>
    [Fact]
    public async Task A_lost_dispute_keeps_the_purchase_taken_back()
    {
        var user = await server.CreateUserAsync();
        var owner = LedgerOwner.User(user.Id);
        var before = await BalanceAsync(owner);
        var intentId = await PurchasedAsync(user, 600);
        var disputeId = NewDisputeId();
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(Stripe.DisputeCreated(intentId, disputeId))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(Stripe.DisputeClosed(intentId, disputeId, "lost"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(Stripe.DisputeClosed(intentId, disputeId, "won"))).StatusCode); // already closed
        Assert.Equal(before.NetBalance, (await BalanceAsync(owner)).NetBalance);
        Assert.Equal("lost", await DisputeStatusAsync(disputeId));
    }

    /// <summary>A purchase refunded before its dispute has nothing left to take back: recorded, and its closing changes nothing.</summary>
    [Fact]
    public async Task A_dispute_of_a_refunded_purchase_takes_nothing_and_closes_quietly()
    {
        var user = await server.CreateUserAsync();
        var owner = LedgerOwner.User(user.Id);
        var before = await BalanceAsync(owner);
        var intentId = await PurchasedAsync(user, 700);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(Stripe.ChargeRefunded(intentId))).StatusCode);
        var disputeId = NewDisputeId();
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(Stripe.DisputeCreated(intentId, disputeId))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(Stripe.DisputeClosed(intentId, disputeId, "won"))).StatusCode);
        Assert.Equal(before.NetBalance, (await BalanceAsync(owner)).NetBalance);
        Assert.Equal("ended", await DisputeStatusAsync(disputeId));
    }

    /// <summary>A purchase of <paramref name="credits"/> completed through its webhook: its payment intent.</summary>
    async Task<string> PurchasedAsync(Infrastructure.TestUser user, int credits)
    {
        var completed = Stripe.CheckoutCompleted(await server.CheckoutAsync(user, credits));
        Assert.Equal(HttpStatusCode.OK, (await server.DeliverAsync(completed)).StatusCode);
        return IntentOf(completed);
    }

    static string NewDisputeId() => "dp_" + Guid.NewGuid().ToString("N")[..20];

    async Task<string> DisputeStatusAsync(string disputeId)
    {
        await using var db = server.NewDbContext();
        return await db.Database.SqlQuery<string>($"SELECT status AS \"Value\" FROM payments.dispute_clawback WHERE dispute_id = {disputeId}").SingleAsync();
    }

    /// <summary>
    /// The grant fails while the webhook runs (credit_ledger refuses writes as a database going down does): the webhook
    /// still answers 200 because the grant is recorded in sync_failure, and the background retries write it once the
    /// database is back, clearing the row.
    /// </summary>
    [Fact]
    public async Task A_grant_that_fails_during_the_webhook_lands_in_sync_failure_and_is_retried_to_success()
    {
        var user = await server.CreateUserAsync();
        var sessionId = await server.CheckoutAsync(user, 800);
        var operationId = (string)Stripe.CheckoutSessions[sessionId]["metadata"]!["operationId"]!;
        await using var db = server.NewDbContext();
        var function = "refuse_" + user.Id.Replace("-", "");
        // The names are derived from a GUID (hex digits only), not from input.
#pragma warning disable EF1002
        await db.Database.ExecuteSqlRawAsync($"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.user_id = '{user.Id}' AND NEW.type = 'purchase' THEN
                RAISE EXCEPTION 'the database system is shutting down' USING ERRCODE = '57P03';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER {function} BEFORE INSERT ON credit_ledger FOR EACH ROW EXECUTE FUNCTION {function}();
            """);
#pragma warning restore EF1002
        try
        {
            var response = await server.DeliverAsync(Stripe.CheckoutCompleted(sessionId));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var failure = await db.SyncFailures.AsNoTracking().SingleAsync(f => f.Id == operationId);
            Assert.Equal("internal", failure.Provider);
            Assert.Contains("shutting down", failure.LastError);
            Assert.False(await db.CreditLedger.AnyAsync(g => g.OperationId == operationId));
        }
        finally
        {
#pragma warning disable EF1002
            await db.Database.ExecuteSqlRawAsync($"DROP TRIGGER {function} ON credit_ledger; DROP FUNCTION {function}();");
#pragma warning restore EF1002
        }
        await PaymentFixture.EventuallyAsync(async () => await db.CreditLedger.AnyAsync(g => g.OperationId == operationId), "the deferred grant");
        await PaymentFixture.EventuallyAsync(async () => !await db.SyncFailures.AnyAsync(f => f.Id == operationId), "the sync_failure row to clear");
        Assert.Equal(800, await db.CreditLedger.Where(g => g.OperationId == operationId).Select(g => g.Balance).SingleAsync());
    }

    async Task<CreditBalance> BalanceAsync(LedgerOwner owner)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CreditLedger>().GetBalanceAsync(owner);
    }

    static string IntentOf(string checkoutCompleted) => (string)JsonNode.Parse(checkoutCompleted)!["data"]!["object"]!["payment_intent"]!;

    async Task ChargeAsync(string userId, int credits)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var message = new Message
        {
            Id = $"gen-{Guid.NewGuid():N}", UserId = userId, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1, FinishedAt = DateTime.UtcNow,
        };
        await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(userId), message, deduct: true);
    }
}
