using System.Globalization;
using Codebuff.Server.Billing;
using Stripe;
using Charge = Stripe.Charge;
using Session = Stripe.Checkout.Session;

namespace Codebuff.Server.Payments;

/// <summary>What a handled event did, for the 200 body and the logs.</summary>
public sealed record WebhookOutcome(string? Note = null, string? Warning = null, bool Retry = false);

/// <summary>
/// The events of api.md §5.6, already verified. Every grant goes through <see cref="PaymentGrants"/> with the
/// operation id chosen when the payment was created, so replays, out-of-order delivery and the race with the direct
/// charge grant once. Handlers read what they need from our database and Stripe, never trusting order of arrival.
/// </summary>
public sealed class StripeWebhook(AppDbContext db, CreditLedger ledger, PaymentGrants grants, StripePayments stripe, AutoTopUp autoTopUp,
    Orgs.OrgAlerts alerts, TimeProvider clock, ILogger<StripeWebhook> log)
{
    public const int DisputesToBan = 5;
    static readonly TimeSpan DisputeWindow = TimeSpan.FromDays(14);

    public Task<WebhookOutcome> HandleAsync(Event e, CancellationToken ct) => e.Data.Object switch
    {
        Session s when e.Type == EventTypes.CheckoutSessionCompleted => CheckoutCompletedAsync(s, ct),
        Subscription s when e.Type is EventTypes.CustomerSubscriptionCreated or EventTypes.CustomerSubscriptionUpdated or EventTypes.CustomerSubscriptionDeleted
            => SubscriptionChangedAsync(s, ct),
        Charge c when e.Type == EventTypes.ChargeRefunded => RefundedAsync(c, ct),
        Dispute d when e.Type == EventTypes.ChargeDisputeCreated => DisputeCreatedAsync(d, ct),
        Dispute d when e.Type == EventTypes.ChargeDisputeClosed => DisputeClosedAsync(d, ct),
        Invoice i when e.Type == EventTypes.InvoicePaymentFailed => InvoicePaymentFailedAsync(i, ct),
        PaymentIntent p when e.Type == EventTypes.PaymentIntentPaymentFailed => PaymentIntentFailedAsync(p, ct),
        _ => Task.FromResult(new WebhookOutcome("ignored")),
    };

    async Task<WebhookOutcome> CheckoutCompletedAsync(Session session, CancellationToken ct)
    {
        var m = session.Metadata ?? [];
        if (m.TryGetValue("organization_id", out var subscribedOrg) && session.SubscriptionId is { } subscriptionId)
        {
            await db.Orgs.Where(o => o.Id == subscribedOrg).ExecuteUpdateAsync(s => s
                .SetProperty(o => o.StripeSubscriptionId, subscriptionId).SetProperty(o => o.AutoTopupEnabled, true)
                .SetProperty(o => o.AutoTopupThreshold, 500).SetProperty(o => o.AutoTopupAmount, 2000), ct);
            // The card entered at checkout becomes the customer's default, so org auto top-up and seat invoices can
            // charge it off-session. A Stripe error answers 500 and Stripe redelivers; the update above repeats harmlessly.
            if (session.CustomerId is { } customerId && await stripe.ChargeableMethodAsync(customerId, orFirst: true, ct) is { } method)
            {
                await stripe.SetDefaultPaymentMethodAsync(customerId, method.Id, ct);
                return new WebhookOutcome($"organization subscription stored; default payment method {method.Id}");
            }
            return new WebhookOutcome("organization subscription stored; no payment method to make the default");
        }
        if (session.PaymentStatus != "paid") return new WebhookOutcome("not paid");
        if (!m.TryGetValue("grantType", out var grantType) || !m.TryGetValue("userId", out var userId) || !m.TryGetValue("operationId", out var operationId)
            || !m.TryGetValue("credits", out var creditsText) || !int.TryParse(creditsText, NumberStyles.None, CultureInfo.InvariantCulture, out var credits) || credits <= 0)
            return new WebhookOutcome("no purchase metadata");
        m.TryGetValue("organizationId", out var orgId);

        PaidGrant grant;
        if (grantType == "purchase")
            grant = new PaidGrant(operationId, userId, null, credits, GrantType.Purchase, $"Purchased {credits} credits via checkout session {session.Id}");
        else if (grantType == "organization_purchase" && orgId is not null)
            grant = new PaidGrant(operationId, userId, orgId, credits, GrantType.Organization, $"Purchased {credits} organization credits via checkout session {session.Id}");
        else
            return new WebhookOutcome($"unknown grant type {grantType}");

        if (!await db.Users.AnyAsync(u => u.Id == userId, ct) || (orgId is not null && !await db.Orgs.AnyAsync(o => o.Id == orgId, ct)))
        {
            // Paid, but for nobody we know (deleted since): an operator has to refund or reassign it.
            await SyncFailures.RecordForOperatorAsync(db, operationId, SyncFailures.Internal,
                $"checkout session {session.Id} paid {credits} credits for unknown user {userId} / org {orgId}", ct);
            return new WebhookOutcome(Warning: "paid for an unknown user or organization; recorded for an operator");
        }
        return new WebhookOutcome((await grants.GrantAsync(grant, ct)).ToString().ToLowerInvariant());
    }

    async Task<WebhookOutcome> SubscriptionChangedAsync(Subscription sub, CancellationToken ct)
    {
        if (sub.Metadata?.TryGetValue("organization_id", out var orgId) != true) return new WebhookOutcome("personal subscriptions are not handled");
        if (sub.Status == "canceled")
            await db.Orgs.Where(o => o.Id == orgId && o.StripeSubscriptionId == sub.Id).ExecuteUpdateAsync(s => s
                .SetProperty(o => o.StripeSubscriptionId, (string?)null).SetProperty(o => o.AutoTopupEnabled, false), ct);
        else if (sub.Status is "active" or "past_due")
            await db.Orgs.Where(o => o.Id == orgId && o.StripeSubscriptionId == null)
                .ExecuteUpdateAsync(s => s.SetProperty(o => o.StripeSubscriptionId, sub.Id), ct);
        return new WebhookOutcome($"subscription {sub.Status}");
    }

    /// <summary>
    /// A refund ends the grant it paid for ([our choice] by expiring it now, so its record and what was already spent
    /// stay). A grant in debt is not revoked — that would forgive the debt — and neither is a partial refund: both are
    /// recorded for an operator (admin sync-failures) and reported in the answer.
    /// </summary>
    async Task<WebhookOutcome> RefundedAsync(Charge charge, CancellationToken ct)
    {
        if (charge.PaymentIntentId is not { } intentId) return new WebhookOutcome("charge without payment intent");
        var intent = await stripe.GetPaymentIntentAsync(intentId, ct);
        if (intent.Metadata?.TryGetValue("operationId", out var operationId) != true) return new WebhookOutcome("not a credit purchase");
        var grant = await ledger.FindGrantAsync(operationId!, ct);
        if (grant is null)
            // The purchase's grant has not landed yet (events out of order): let Stripe deliver the refund again later.
            return new WebhookOutcome(Warning: $"grant {operationId} not written yet", Retry: true);
        var key = $"refund-{charge.Id}";
        if (!charge.Refunded)
        {
            var problem = $"partial refund of {charge.AmountRefunded} of {charge.Amount} cents on charge {charge.Id}; grant {operationId} left as it is";
            await SyncFailures.RecordForOperatorAsync(db, key, SyncFailures.Stripe, problem, ct);
            return new WebhookOutcome(Warning: problem);
        }
        if (grant.Balance < 0)
        {
            var problem = $"refund of charge {charge.Id}: grant {operationId} is in debt ({grant.Balance} credits) and was not revoked";
            log.LogWarning("{Problem}", problem);
            await SyncFailures.RecordForOperatorAsync(db, key, SyncFailures.Stripe, problem, ct);
            return new WebhookOutcome(Warning: problem);
        }
        var revoked = await ledger.ExpireGrantAsync(operationId!, $"Revoked: Refund for charge {charge.Id}", ct);
        return new WebhookOutcome(revoked ? "grant revoked" : "grant already ended");
    }

    /// <summary>
    /// Counts the dispute (the fifth of a customer within 14 days bans, api.md §5.6) and takes the disputed purchase
    /// back (<see cref="DisputeClawbacks"/>); auto top-up of its owner is switched off, so the card in dispute is not
    /// charged again to pay the debt.
    /// </summary>
    async Task<WebhookOutcome> DisputeCreatedAsync(Dispute dispute, CancellationToken ct)
    {
        PaymentIntent? intent = null;
        if (dispute.PaymentIntentId is { } intentId) intent = await stripe.GetPaymentIntentAsync(intentId, ct);
        if (intent?.CustomerId is not { } customerId) return new WebhookOutcome("dispute without customer");
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlAsync($"INSERT INTO payments.dispute (id, customer_id, created_at) VALUES ({dispute.Id}, {customerId}, {now}) ON CONFLICT (id) DO NOTHING", ct);
        var since = now - DisputeWindow;
        var count = await db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM payments.dispute WHERE customer_id = {customerId} AND created_at >= {since}").FirstAsync(ct);
        log.LogWarning("dispute {Dispute} on customer {Customer} ({Count} in 14 days)", dispute.Id, customerId, count);
        var notes = new List<string> { $"{count} disputes in 14 days" };
        if (count >= DisputesToBan)
        {
            var banned = await Suspension.SetAsync(db, db.Users.Where(u => u.StripeCustomerId == customerId), banned: true, ct);
            if (banned > 0)
            {
                log.LogWarning("customer {Customer} banned after {Count} disputes in 14 days", customerId, count);
                notes.Add("user banned");
            }
        }
        if (intent.Metadata?.TryGetValue("operationId", out var operationId) == true)
        {
            var taken = await DisputeClawbacks.TakeBackAsync(db, ledger, dispute.Id, operationId, now, ct);
            // The purchase's grant has not landed yet (events out of order): let Stripe deliver the dispute again later.
            if (taken is null) return new WebhookOutcome(Warning: $"grant {operationId} not written yet", Retry: true);
            notes.Add(taken);
            var grant = await ledger.FindGrantAsync(operationId, ct) ?? throw new InvalidOperationException($"grant {operationId} is gone");
            await autoTopUp.DisableAsync(db, grant.Owner, $"A payment was disputed ({dispute.Id})", ct);
        }
        return new WebhookOutcome(string.Join("; ", notes));
    }

    /// <summary>A closed dispute: won gives the purchase back, lost keeps it taken (both recorded).</summary>
    async Task<WebhookOutcome> DisputeClosedAsync(Dispute dispute, CancellationToken ct)
    {
        if (dispute.Status is not ("won" or "lost")) return new WebhookOutcome($"dispute closed as {dispute.Status}");
        var closed = await DisputeClawbacks.CloseAsync(db, ledger, dispute.Id, dispute.Status == "won", clock.GetUtcNow().UtcDateTime, ct);
        if (closed is not null) return new WebhookOutcome(closed);
        // Nothing was taken back: a charge that bought no credits, or the created event has not been handled yet.
        if (dispute.PaymentIntentId is { } intentId && (await stripe.GetPaymentIntentAsync(intentId, ct)).Metadata?.ContainsKey("operationId") == true)
            return new WebhookOutcome(Warning: $"dispute {dispute.Id} closed before its opening was handled", Retry: true);
        return new WebhookOutcome("not a credit purchase");
    }

    async Task<WebhookOutcome> InvoicePaymentFailedAsync(Invoice invoice, CancellationToken ct)
    {
        var m = invoice.Metadata ?? [];
        if (m.GetValueOrDefault("type") != "auto-topup" || invoice.BillingReason != "manual") return new WebhookOutcome("not an auto top-up invoice");
        var owner = m.TryGetValue("organizationId", out var orgId) ? LedgerOwner.Org(orgId)
            : m.TryGetValue("userId", out var userId) ? LedgerOwner.User(userId) : (LedgerOwner?)null;
        if (owner is null) return new WebhookOutcome("no owner in metadata");
        await autoTopUp.DisableAsync(db, owner.Value, "The auto top-up invoice could not be paid", ct);
        return new WebhookOutcome("auto top-up disabled");
    }

    /// <summary>An org's credit purchase that failed (a checkout or off-session charge): the org's billing alert.</summary>
    async Task<WebhookOutcome> PaymentIntentFailedAsync(PaymentIntent intent, CancellationToken ct)
    {
        if (intent.Metadata?.TryGetValue("organizationId", out var orgId) != true) return new WebhookOutcome("not an organization payment");
        // A failed automatic charge has its own alert, raised when it turned auto top-up off.
        if (intent.Metadata.GetValueOrDefault("type") == "auto-topup") return new WebhookOutcome("auto top-up charge; alerted when it was turned off");
        var reason = intent.LastPaymentError?.Message ?? "the payment was not completed";
        await alerts.PaymentFailedAsync(LedgerOwner.Org(orgId!), Orgs.OrgAlertKind.PaymentFailed, $"{reason.TrimEnd('.')}.", ct);
        return new WebhookOutcome("organization payment failed; alert raised");
    }
}
