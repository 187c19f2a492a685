using Stripe;
using Stripe.Checkout;
using Session = Stripe.Checkout.Session;

namespace Codebuff.Server.Payments;

/// <summary>A card or link payment method that can be charged off-session.</summary>
public sealed record ChargeableMethod(string Id);

/// <summary>
/// Every call this server makes to Stripe, through Stripe.net against <see cref="StripeOptions.ApiBase"/>. Amounts are
/// US cents: one credit is one cent (api.md §7.1).
/// </summary>
public sealed class StripePayments
{
    readonly StripeOptions _options;
    readonly TimeProvider _clock;
    StripeClient? _client;

    public StripePayments(IOptions<StripeOptions> options, TimeProvider clock)
    {
        _options = options.Value;
        _clock = clock;
    }

    public bool Configured => _options.Configured;

    /// <summary>
    /// Built on first use: no Stripe.net code runs, or is even loaded, in a server that never calls Stripe (every
    /// charge asks <see cref="AutoTopUp"/>, which asks <see cref="Configured"/>; bench/README.md, memory).
    /// </summary>
    StripeClient Client => _client ??= Configured
        ? new StripeClient(apiKey: _options.SecretKey, apiBase: _options.ApiBase.TrimEnd('/'))
        : throw new InvalidOperationException("Stripe is not configured (Codebuff:Stripe:SecretKey)");

    /// <summary>Creates a customer; the idempotency key makes a retried creation return the first one.</summary>
    public async Task<string> CreateCustomerAsync(string? email, string? name, Dictionary<string, string> metadata, string idempotencyKey, CancellationToken ct)
    {
        var customer = await new CustomerService(Client).CreateAsync(
            new CustomerCreateOptions { Email = email, Name = name, Metadata = metadata }, new RequestOptions { IdempotencyKey = idempotencyKey }, ct);
        return customer.Id;
    }

    /// <summary>
    /// The customer's default payment method when it can be charged now (a card not yet expired, or link); for an
    /// organization (api.md §7.9) the first such method when none is the default. Null when there is none.
    /// </summary>
    public async Task<ChargeableMethod?> ChargeableMethodAsync(string customerId, bool orFirst, CancellationToken ct)
    {
        var customer = await new CustomerService(Client).GetAsync(customerId, cancellationToken: ct);
        if (customer.Deleted == true) return null;
        var methods = await new PaymentMethodService(Client).ListAsync(new PaymentMethodListOptions { Customer = customerId, Limit = 100 }, cancellationToken: ct);
        var defaultId = customer.InvoiceSettings?.DefaultPaymentMethodId;
        var usable = methods.Data.Where(Chargeable).ToList();
        var chosen = usable.FirstOrDefault(m => m.Id == defaultId) ?? (orFirst ? usable.FirstOrDefault() : null);
        return chosen is null ? null : new ChargeableMethod(chosen.Id);
    }

    bool Chargeable(PaymentMethod m)
    {
        if (m.Type == "link") return true;
        if (m.Type != "card" || m.Card is null) return false;
        var now = _clock.GetUtcNow().UtcDateTime;
        // A card is valid through the last day of its expiry month.
        return m.Card.ExpYear > now.Year || (m.Card.ExpYear == now.Year && m.Card.ExpMonth >= now.Month);
    }

    /// <summary>An off-session, confirmed charge; Stripe's idempotency key is the grant's operation id, so a repeat charges once.</summary>
    public Task<PaymentIntent> ChargeOffSessionAsync(string customerId, string paymentMethodId, int credits, Dictionary<string, string> metadata,
        string operationId, string description, CancellationToken ct) =>
        new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = credits, Currency = "usd", Customer = customerId, PaymentMethod = paymentMethodId,
            OffSession = true, Confirm = true, Metadata = metadata, Description = description,
        }, new RequestOptions { IdempotencyKey = operationId }, ct);

    /// <summary>A hosted Checkout page for a one-time purchase; the metadata rides on the session and its payment intent.</summary>
    public Task<Session> CreateCheckoutAsync(string customerId, int credits, string productName, Dictionary<string, string> metadata,
        string successUrl, string cancelUrl, string operationId, CancellationToken ct) =>
        new SessionService(Client).CreateAsync(new SessionCreateOptions
        {
            Mode = "payment", Customer = customerId, SuccessUrl = successUrl, CancelUrl = cancelUrl, Metadata = metadata,
            LineItems =
            [
                new SessionLineItemOptions
                {
                    Quantity = 1,
                    PriceData = new SessionLineItemPriceDataOptions
                    {
                        Currency = "usd", UnitAmount = credits, ProductData = new SessionLineItemPriceDataProductDataOptions { Name = productName },
                    },
                },
            ],
            PaymentIntentData = new SessionPaymentIntentDataOptions { Metadata = metadata, SetupFutureUsage = "off_session" },
        }, new RequestOptions { IdempotencyKey = "checkout-" + operationId }, ct);

    public Task<PaymentIntent> GetPaymentIntentAsync(string id, CancellationToken ct) => new PaymentIntentService(Client).GetAsync(id, cancellationToken: ct);

    /// <summary>Makes a payment method the customer's default for invoices and off-session charges.</summary>
    public Task SetDefaultPaymentMethodAsync(string customerId, string paymentMethodId, CancellationToken ct) =>
        new CustomerService(Client).UpdateAsync(customerId, new CustomerUpdateOptions
        {
            InvoiceSettings = new CustomerInvoiceSettingsOptions { DefaultPaymentMethod = paymentMethodId },
        }, cancellationToken: ct);

    /// <summary>A card refused by the bank (or needing the customer present): the payment cannot succeed by retrying.</summary>
    public static bool IsCardFailure(StripeException e) => e.StripeError?.Type == "card_error" || e.StripeError?.Code is "authentication_required" or "card_declined";
}
