using Codebuff.Server.Billing;

namespace Codebuff.Server.Payments;

/// <summary>GET/POST /api/user/auto-topup (api.md §5.3, §7.8).</summary>
public static class AutoTopUpEndpoints
{
    public static void MapAutoTopUp(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/user/auto-topup").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        group.MapGet("", Get).Answers<PaymentWire.AutoTopUpSettings>();
        group.MapPost("", Set).Takes<PaymentWire.AutoTopUpRequest>().Answers<PaymentWire.AutoTopUpSaved>().RefusesWith<PaymentWire.ValidationIssues>(400).RefuseSuspended();
    }

    static async Task<Ok<PaymentWire.AutoTopUpSettings>> Get(Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        var reason = await AutoTopUp.BlockedReasonAsync(db, LedgerOwner.User(user.Id), ct);
        return TypedResults.Ok(new PaymentWire.AutoTopUpSettings(user.AutoTopupEnabled, user.AutoTopupThreshold ?? 500,
            user.AutoTopupAmount ?? 2000, user.AutoTopupEnabled ? null : reason));
    }

    static async Task<Results<Ok<PaymentWire.AutoTopUpSaved>, JsonHttpResult<PaymentWire.ValidationIssues>, ErrorResult>> Set(HttpRequest request, Caller caller, AppDbContext db, IOptions<AutoTopUpLimits> limits, CancellationToken ct)
    {
        var (ok, body) = await RequestJson.TryReadAsync(request, ct);
        if (!ok) return Errors.InvalidJson();
        var issues = new List<JsonObject>();
        bool? enabled = null;
        int? threshold = null, amount = null;
        if (body is not JsonObject o) issues.Add(PaymentEndpoints.Issue([], "invalid_type", $"Expected object, received {JsonKind.Of(body)}"));
        else
        {
            enabled = o.TryGetPropertyValue("enabled", out var e) && e is JsonValue ev && ev.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                ? ev.GetValue<bool>() : Missing<bool>(o, "enabled", "boolean", issues);
            threshold = NullableInt(o, "threshold", issues);
            amount = NullableInt(o, "amount", issues);
        }
        if (issues.Count > 0) return PaymentEndpoints.Invalid("Invalid request data", [.. issues]);
        if (await AutoTopUp.SaveSettingsAsync(db, limits.Value, caller.Required.Id, enabled == true, threshold, amount, ct) is { } refused) return refused.ToResult();
        return TypedResults.Ok(new PaymentWire.AutoTopUpSaved(enabled == true, threshold, amount));
    }

    /// <summary>A key that must be present and is an integer or null.</summary>
    static int? NullableInt(JsonObject o, string name, List<JsonObject> issues)
    {
        if (!o.TryGetPropertyValue(name, out var node)) return Missing<int>(o, name, "number", issues);
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            var d = v.GetValue<double>();
            if (d != Math.Floor(d)) issues.Add(PaymentEndpoints.Issue([name], "invalid_type", "Expected integer, received float"));
            else if (d is < int.MinValue or > int.MaxValue) issues.Add(PaymentEndpoints.Issue([name], d > 0 ? "too_big" : "too_small", "Number is out of range"));
            else return (int)d;
            return null;
        }
        issues.Add(PaymentEndpoints.Issue([name], "invalid_type", $"Expected number, received {JsonKind.Of(node)}"));
        return null;
    }

    static T? Missing<T>(JsonObject o, string name, string expected, List<JsonObject> issues) where T : struct
    {
        var present = o.TryGetPropertyValue(name, out var node);
        issues.Add(PaymentEndpoints.Issue([name], "invalid_type", present ? $"Expected {expected}, received {JsonKind.Of(node)}" : "Required"));
        return null;
    }
}
