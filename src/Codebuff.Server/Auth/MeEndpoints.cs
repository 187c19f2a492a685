using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Auth;

public static class MeEndpoints
{
    // Feb 2026 names plus the newest upstream's created_at [our choice: the union]; order is the message's order.
    static readonly string[] ValidFields = ["id", "email", "discord_id", "referral_code", "stripe_customer_id", "banned", "referral_link", "created_at"];

    public static void MapMe(this IEndpointRouteBuilder app) => app.MapGet("/api/v1/me", GetMe);

    static async Task<IResult> GetMe(HttpRequest request, AppDbContext db, TokenHasher hasher, IOptions<CodebuffOptions> options, CancellationToken ct)
    {
        var token = ApiKeyAuth.GetToken(request);
        if (token is null) return Results.Json(new { error = "Missing or invalid Authorization header" }, statusCode: 401);

        string[] fields = ["id"];
        if (request.Query.ContainsKey("fields"))
        {
            fields = request.Query["fields"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToArray();
            var valid = string.Join(", ", ValidFields);
            if (fields.Length == 0) return Results.Json(new { error = $"Invalid fields: empty. Valid fields are: {valid}" }, statusCode: 400);
            var bad = fields.Where(f => !ValidFields.Contains(f)).ToArray();
            if (bad.Length > 0) return Results.Json(new { error = $"Invalid fields: {string.Join(", ", bad)}. Valid fields are: {valid}" }, statusCode: 400);
        }

        var user = await ApiKeyAuth.FindUserAsync(db, hasher, token, ct);
        if (user is null) return Results.Json(new { error = "Invalid API key or user not found" }, statusCode: 401);

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
        return Results.Json(body);
    }
}
