using Codebuff.Server.Billing;
using Codebuff.Server.Orgs;
using Stripe;

namespace Codebuff.Server.Payments;

/// <summary>Buying credits, the Stripe webhook (api.md §5.6) and organization purchases (§5.5, §7.9).</summary>
public static class PaymentEndpoints
{
    public const int MinimumUserPurchase = 500, MinimumOrgPurchase = 5000;
    // [our choice] an upper bound, so a typo cannot start a $100,000 charge: $10,000 of credits per purchase.
    public const int MaximumPurchase = 1_000_000;

    public static void MapPurchases(this IEndpointRouteBuilder app)
    {
        var stripe = app.MapGroup("/api/stripe").AddEndpointFilter(RequireStripe);
        stripe.MapPost("/buy-credits", BuyCredits).Takes<PaymentWire.BuyCreditsRequest>().Answers<PaymentWire.BuyCreditsAnswer>()
            .RefusesWith<PaymentWire.ValidationIssues>(400).Refuses(403, 500, 503).RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).RefuseSuspended();
        stripe.MapPost("/webhook", Webhook).Takes<PaymentWire.StripeEvent>().Answers<PaymentWire.WebhookAnswer>()
            .RefusesWith<PaymentWire.WebhookErrorBody>(400, 500).Refuses(503).WithMetadata(new RequestBodyGuard.SignedBody());
        app.MapPost("/api/orgs/{orgId}/credits", BuyOrgCredits).Takes<PaymentWire.BuyCreditsRequest>().Answers<PaymentWire.OrgCreditsAnswer>()
            .RefusesWith<PaymentWire.ValidationIssues>(400).Refuses(403, 404, 500, 503).AddEndpointFilter(RequireStripe)
            .RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).RefuseSuspended();
    }

    static async ValueTask<object?> RequireStripe(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.RequestServices.GetRequiredService<StripePayments>().Configured
            ? await next(context)
            : Errors.Error(503, "Payments are not available: this server has no Stripe key (Codebuff:Stripe:SecretKey)");

    static async Task<Results<Ok<PaymentWire.BuyCreditsAnswer>, JsonHttpResult<PaymentWire.ValidationIssues>, ErrorResult>> BuyCredits(HttpRequest request, Caller caller, AppDbContext db, CreditPurchases purchases, CancellationToken ct)
    {
        var (ok, body) = await RequestJson.TryReadAsync(request, ct);
        if (!ok) return Errors.Error(400, "Invalid JSON body");
        if (CreditsIssue(body, "credits", MinimumUserPurchase, $"Minimum purchase is {MinimumUserPurchase} credits.") is { } issue)
            return Invalid("Invalid input", issue);
        var credits = (int)body!["credits"]!.GetValue<double>();
        var (result, refused) = await purchases.BuyForUserAsync(db, caller.Required, credits, ct);
        if (refused is not null) return refused.ToResult();
        return result!.Direct
            ? TypedResults.Ok(new PaymentWire.BuyCreditsAnswer(true, credits, null, null))
            : TypedResults.Ok(new PaymentWire.BuyCreditsAnswer(null, null, result.CheckoutSessionId, result.CheckoutUrl));
    }

    static async Task<Results<Ok<PaymentWire.OrgCreditsAnswer>, JsonHttpResult<PaymentWire.ValidationIssues>, ErrorResult>> BuyOrgCredits(string orgId, HttpRequest request, Caller caller, AppDbContext db, StripeCustomers customers,
        CreditPurchases purchases, IOptions<CodebuffOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var user = caller.Required;
        if (OrgAccess.Check(await OrgAccess.RoleAsync(db, orgId, user.Id, ct), OrgRole.Owner, "Only organization owners can purchase credits") is { } denied)
            return denied.ToResult();
        var slug = await db.Orgs.Where(o => o.Id == orgId).Select(o => o.Slug).FirstOrDefaultAsync(ct);
        if (slug is null) return Errors.Error(404, OrgAccess.NotFound);

        var (ok, body) = await RequestJson.TryReadAsync(request, ct);
        if (!ok) return Errors.InvalidJson();
        if (CreditsIssue(body, "amount", MinimumOrgPurchase, $"Minimum purchase is {MinimumOrgPurchase} credits") is { } issue)
            return Invalid("Invalid input", issue);
        var credits = (int)body!["amount"]!.GetValue<double>();

        var customerId = await customers.EnsureForOrgAsync(db, orgId, ct);
        if (customerId is null) return Errors.Error(400, "Organization has no Stripe customer; try again shortly");
        var grant = new PaidGrant($"org-{orgId}-{CreditPurchases.CompactId(clock)}", user.Id, orgId, credits, GrantType.Organization,
            $"Purchased {credits} organization credits");
        var page = $"{options.Value.AppUrl.TrimEnd('/')}/orgs/{slug}";
        try
        {
            var result = await purchases.BuyAsync(customerId, grant, CreditPurchases.Metadata(grant, "organization_purchase"), $"{credits} Codebuff organization credits",
                $"{page}?purchase=success&session_id={{CHECKOUT_SESSION_ID}}", $"{page}?purchase_canceled=true", ct);
            return result.Direct
                ? TypedResults.Ok(new PaymentWire.OrgCreditsAnswer(true, null, credits, null, DirectCharge: true))
                : TypedResults.Ok(new PaymentWire.OrgCreditsAnswer(true, result.CheckoutUrl, credits, AmountCents: credits, DirectCharge: false));
        }
        catch (StripeException e)
        {
            return Errors.Error(500, e.StripeError?.Message ?? "Payment failed");
        }
    }

    /// <summary>
    /// The raw body is verified before anything else (Stripe.net's EventUtility: HMAC-SHA256 over "timestamp.body",
    /// five minutes' tolerance); a bad signature writes nothing. A handler failure answers 500 so Stripe redelivers.
    /// </summary>
    static async Task<Results<Ok<PaymentWire.WebhookAnswer>, JsonHttpResult<PaymentWire.WebhookErrorBody>, ErrorResult>> Webhook(HttpRequest request, StripeWebhook handler, IOptions<StripeOptions> options, ILogger<StripeWebhook> log, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(options.Value.WebhookSecret))
            return Errors.Error(503, "Webhooks are not accepted: this server has no webhook secret (Codebuff:Stripe:WebhookSecret)");
        using var reader = new StreamReader(request.Body);
        var json = await reader.ReadToEndAsync(ct);
        Event stripeEvent;
        try
        {
            stripeEvent = EventUtility.ConstructEvent(json, request.Headers["Stripe-Signature"].ToString(), options.Value.WebhookSecret,
                throwOnApiVersionMismatch: false);
        }
        catch (Exception e) when (e is StripeException or JsonException or ArgumentException)
        {
            return WebhookError(400, $"Webhook Error: {e.Message}");
        }
        try
        {
            var outcome = await handler.HandleAsync(stripeEvent, ct);
            log.LogInformation("webhook {Event} {Type}: {Note}{Warning}", stripeEvent.Id, stripeEvent.Type, outcome.Note, outcome.Warning);
            if (outcome.Retry) return WebhookError(500, $"Webhook handler error: {outcome.Warning}");
            return TypedResults.Ok(new PaymentWire.WebhookAnswer(true, outcome.Warning));
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogError(e, "webhook {Event} {Type} failed", stripeEvent.Id, stripeEvent.Type);
            return WebhookError(500, $"Webhook handler error: {e.Message}");
        }
    }

    /// <summary>Stripe's own error shape, <c>{"error":{"message"}}</c>: what Stripe shows in its dashboard's delivery log.</summary>
    static JsonHttpResult<PaymentWire.WebhookErrorBody> WebhookError(int status, string message) =>
        TypedResults.Json(new PaymentWire.WebhookErrorBody(new(message)), statusCode: status);

    /// <summary>zod's issue for a credits field: an integer from the minimum to <see cref="MaximumPurchase"/>; null when valid.</summary>
    internal static JsonObject? CreditsIssue(JsonNode? body, string field, int minimum, string tooSmall)
    {
        if (body is not JsonObject o)
            return Issue([], "invalid_type", $"Expected object, received {JsonKind.Of(body)}");
        var present = o.TryGetPropertyValue(field, out var node);
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
            return Issue([field], "invalid_type", present ? $"Expected number, received {JsonKind.Of(node)}" : "Required");
        var n = v.GetValue<double>();
        if (n != Math.Floor(n)) return Issue([field], "invalid_type", "Expected integer, received float");
        if (n < minimum) return Issue([field], "too_small", tooSmall);
        if (n > MaximumPurchase) return Issue([field], "too_big", $"Maximum purchase is {MaximumPurchase} credits.");
        return null;
    }

    internal static JsonObject Issue(string[] path, string code, string message) =>
        new() { ["code"] = code, ["path"] = new JsonArray([.. path.Select(p => (JsonNode?)p)]), ["message"] = message };

    internal static JsonHttpResult<PaymentWire.ValidationIssues> Invalid(string error, params JsonObject[] issues) =>
        TypedResults.Json(new PaymentWire.ValidationIssues(error, issues), statusCode: 400);
}
