namespace Codebuff.Server.Auth;

public static class MeEndpoints
{
    // Feb 2026 names plus the newest upstream's created_at [our choice: the union]; order is the message's order.
    static readonly string[] ValidFields = ["id", "email", "discord_id", "referral_code", "stripe_customer_id", "banned", "referral_link", "created_at"];

    public static void MapMe(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/v1/me", GetMe).RequireCaller(CallerAuthentication.ApiKey, Unauthenticated.ApiV1).Answers<MeFields>().Refuses(400);

    /// <summary>Every field ?fields= may ask for; the answer holds only the asked ones, in the asked order (id alone by default).</summary>
    public sealed record MeFields(
        string Id, string? Email,
        [property: JsonPropertyName("discord_id")] string? DiscordId,
        [property: JsonPropertyName("referral_code")] string? ReferralCode,
        [property: JsonPropertyName("stripe_customer_id")] string? StripeCustomerId,
        bool? Banned,
        [property: JsonPropertyName("referral_link")] string? ReferralLink,
        [property: JsonPropertyName("created_at")] DateTime? CreatedAt);

    static Results<Ok<Dictionary<string, object?>>, ErrorResult> GetMe(HttpRequest request, Caller caller, IOptions<CodebuffOptions> options)
    {
        string[] fields = ["id"];
        if (request.Query.ContainsKey("fields"))
        {
            fields = request.Query["fields"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToArray();
            var valid = string.Join(", ", ValidFields);
            if (fields.Length == 0) return Errors.Error(400, $"Invalid fields: empty. Valid fields are: {valid}");
            var bad = fields.Where(f => !ValidFields.Contains(f)).ToArray();
            if (bad.Length > 0) return Errors.Error(400, $"Invalid fields: {string.Join(", ", bad)}. Valid fields are: {valid}");
        }

        var user = caller.Required;
        var body = new Dictionary<string, object?>();
        foreach (var f in fields)
            body[f] = f switch
            {
                "id" => user.Id,
                "email" => user.Email,
                "discord_id" => user.DiscordId,
                "referral_code" => user.ReferralCode,
                "stripe_customer_id" => user.StripeCustomerId,
                "banned" => user.Banned,
                "created_at" => user.CreatedAt,
                "referral_link" => string.IsNullOrEmpty(user.ReferralCode) ? null : $"{options.Value.AppUrl.TrimEnd('/')}/referrals/{user.ReferralCode}",
                _ => null,
            };
        return TypedResults.Ok(body);
    }
}
