namespace Codebuff.Server.Payments;

/// <summary>The JSON shapes of the payment routes, as the OpenAPI document names them (api.md §5.6, §5.3).</summary>
public static class PaymentWire
{
    public sealed record BuyCreditsRequest(int Credits);

    /// <summary>A saved card was charged (<c>success</c>, <c>credits</c>) or a Checkout session was opened (<c>sessionId</c>, <c>url</c>).</summary>
    public sealed record BuyCreditsAnswer(bool? Success, int? Credits, string? SessionId, string? Url);

    public sealed record OrgCreditsAnswer(bool Success, int Credits,
        [property: JsonPropertyName("direct_charge")] bool DirectCharge,
        [property: JsonPropertyName("checkout_url")] string? CheckoutUrl,
        [property: JsonPropertyName("amount_cents")] int? AmountCents);

    /// <summary>A Stripe event, verified against its raw body before anything is read from it.</summary>
    public sealed record StripeEvent(string Id, string Type, object Data);

    public sealed record WebhookAnswer(bool Received, string? Warning);

    public sealed record WebhookErrorBody(WebhookErrorMessage Error);
    public sealed record WebhookErrorMessage(string Message);

    public sealed record AutoTopUpSettings(
        [property: JsonPropertyName("auto_topup_enabled")] bool? AutoTopupEnabled,
        [property: JsonPropertyName("auto_topup_threshold")] int? AutoTopupThreshold,
        [property: JsonPropertyName("auto_topup_amount")] int? AutoTopupAmount,
        [property: JsonPropertyName("auto_topup_blocked_reason")] string? AutoTopupBlockedReason);

    public sealed record ValidationIssues(string Error, object[] Issues);
}
