using Codebuff.Server.Orgs;
using Stripe;

namespace Codebuff.Server.Payments;

/// <summary>A purchase's result: paid and granted at once (a saved card), or a Checkout page to finish it.</summary>
public sealed record PurchaseResult(bool Direct, string? CheckoutSessionId, string? CheckoutUrl);

/// <summary>
/// Buying credits (api.md §5.6, §7.9): the operation id is chosen first and travels in Stripe metadata, so the direct
/// charge, the Checkout webhook and every replay grant the same row once. With a chargeable saved method the customer
/// is charged off-session and credited now; otherwise (or when that charge fails) a Checkout session is made.
/// </summary>
public sealed class CreditPurchases(StripePayments stripe, PaymentGrants grants, StripeCustomers customers, IOptions<CodebuffOptions> options,
    TimeProvider clock, ILogger<CreditPurchases> log)
{
    /// <summary>
    /// A user buys <paramref name="credits"/> (already validated: 500 to <see cref="PaymentEndpoints.MaximumPurchase"/>)
    /// for themselves: POST /api/stripe/buy-credits and the profile's buy form. Checkout comes back to /payment-success.
    /// </summary>
    public async Task<(PurchaseResult? Result, Refusal? Refused)> BuyForUserAsync(AppDbContext db, User user, int credits, CancellationToken ct)
    {
        if (user.Banned) return (null, new(403, "Your account has been suspended. Please contact support."));
        var customerId = await customers.EnsureForUserAsync(db, user.Id, ct);
        if (customerId is null) return (null, new(400, "Stripe customer not found."));
        var grant = new PaidGrant($"buy-{user.Id}-{CompactId(clock)}", user.Id, null, credits, GrantType.Purchase, $"Purchased {credits} credits");
        var app = options.Value.AppUrl.TrimEnd('/');
        try
        {
            return (await BuyAsync(customerId, grant, Metadata(grant, "purchase"), $"{credits} Codebuff credits",
                $"{app}/payment-success?session_id={{CHECKOUT_SESSION_ID}}&purchase=credits&amt={credits}", $"{app}/usage?purchase_canceled=true", ct), null);
        }
        catch (StripeException e)
        {
            return (null, new(500, e.StripeError?.Message ?? "Payment failed"));
        }
    }

    public async Task<PurchaseResult> BuyAsync(string customerId, PaidGrant grant, Dictionary<string, string> metadata,
        string productName, string successUrl, string cancelUrl, CancellationToken ct)
    {
        if (await stripe.ChargeableMethodAsync(customerId, orFirst: grant.OrgId is not null, ct) is { } method)
        {
            try
            {
                var intent = await stripe.ChargeOffSessionAsync(customerId, method.Id, grant.Credits, metadata, grant.OperationId, grant.Description, ct);
                if (intent.Status == "succeeded")
                {
                    await grants.GrantAsync(grant, ct);
                    return new PurchaseResult(true, null, null);
                }
                log.LogInformation("direct charge {OperationId} ended {Status}; falling back to Checkout", grant.OperationId, intent.Status);
            }
            catch (StripeException e) when (StripePayments.IsCardFailure(e))
            {
                log.LogInformation("direct charge {OperationId} refused ({Error}); falling back to Checkout", grant.OperationId, e.Message);
            }
        }
        var session = await stripe.CreateCheckoutAsync(customerId, grant.Credits, productName, metadata, successUrl, cancelUrl, grant.OperationId, ct);
        return new PurchaseResult(false, session.Id, session.Url);
    }

    /// <summary>Upstream's metadata keys (camelCase), read back by the webhook.</summary>
    public static Dictionary<string, string> Metadata(PaidGrant grant, string grantType, string? type = null)
    {
        var m = new Dictionary<string, string>
        {
            ["userId"] = grant.PayerUserId, ["credits"] = grant.Credits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["operationId"] = grant.OperationId, ["grantType"] = grantType,
        };
        if (grant.OrgId is not null) m["organizationId"] = grant.OrgId;
        if (type is not null) m["type"] = type;
        return m;
    }

    public static string CompactId(TimeProvider clock) => GitHubSignIn.CompactId(clock.GetUtcNow().UtcDateTime);

    public static string Minute(TimeProvider clock) =>
        clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);
}
