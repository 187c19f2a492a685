namespace Codebuff.Server.Payments;

/// <summary>The JSON shapes of the payment routes, as the OpenAPI document names them (api.md §5.6, §5.3).</summary>
public static class PaymentWire
{
    public sealed record BuyCreditsRequest(int Credits);

    /// <summary>A saved card was charged (<c>success</c>, <c>credits</c>) or a Checkout session was opened (<c>sessionId</c>, <c>url</c>).</summary>
    public sealed record BuyCreditsAnswer(
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Success,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Credits,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SessionId,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url);

    /// <summary>A saved card was charged (<c>direct_charge</c> true) or a Checkout session was opened (<c>checkout_url</c>, <c>amount_cents</c>).</summary>
    public sealed record OrgCreditsAnswer(bool Success,
        [property: JsonPropertyName("checkout_url"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CheckoutUrl,
        int Credits,
        [property: JsonPropertyName("amount_cents"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? AmountCents,
        [property: JsonPropertyName("direct_charge")] bool DirectCharge);

    /// <summary>A Stripe event, verified against its raw body before anything is read from it.</summary>
    public sealed record StripeEvent(string Id, string Type, object Data);

    /// <summary>warning: an event accepted without effect (unknown, duplicate), said why.</summary>
    public sealed record WebhookAnswer(bool Received, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Warning);

    public sealed record WebhookErrorBody(WebhookErrorMessage Error);
    public sealed record WebhookErrorMessage(string Message);

    /// <summary>GET /api/user/auto-topup: the settings, and why auto top-up switched itself off (null while on).</summary>
    public sealed record AutoTopUpSettings(
        [property: JsonPropertyName("auto_topup_enabled")] bool AutoTopupEnabled,
        [property: JsonPropertyName("auto_topup_threshold")] int AutoTopupThreshold,
        [property: JsonPropertyName("auto_topup_amount")] int AutoTopupAmount,
        [property: JsonPropertyName("auto_topup_blocked_reason")] string? AutoTopupBlockedReason);

    /// <summary>POST /api/user/auto-topup's body: threshold and amount must be present, null when auto top-up is off.</summary>
    public sealed record AutoTopUpRequest(bool Enabled, int? Threshold, int? Amount);

    /// <summary>POST /api/user/auto-topup's answer: the settings as saved.</summary>
    public sealed record AutoTopUpSaved(
        [property: JsonPropertyName("auto_topup_enabled")] bool AutoTopupEnabled,
        [property: JsonPropertyName("auto_topup_threshold")] int? AutoTopupThreshold,
        [property: JsonPropertyName("auto_topup_amount")] int? AutoTopupAmount);

    /// <summary>zod's refusal of a body: the error and its issues (<c>{"code","path","message"}</c>).</summary>
    public sealed record ValidationIssues(string Error, IReadOnlyList<JsonObject> Issues);
}
