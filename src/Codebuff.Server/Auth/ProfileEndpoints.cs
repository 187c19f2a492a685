using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Codebuff.Server.Auth;

/// <summary>The dashboard's profile (api.md §5.3), answered in the seed's UserProfile shape.</summary>
public static partial class ProfileEndpoints
{
    [GeneratedRegex("^[a-z0-9_-]{3,20}$")]
    private static partial Regex HandlePattern();

    public static void MapProfile(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/user/profile", Get);
        app.MapPatch("/api/user/profile", Update);
    }

    static async Task<IResult> Get(HttpContext http, AppDbContext db, TokenHasher hasher, CancellationToken ct) =>
        await RequestUser.FindAsync(http, db, hasher, null, ct) is { } user
            ? Results.Json(Profile(user))
            : Results.Json(new { error = "Unauthorized" }, statusCode: 401);

    static async Task<IResult> Update(HttpContext http, AppDbContext db, TokenHasher hasher, CancellationToken ct)
    {
        if (await RequestUser.FindAsync(http, db, hasher, null, ct) is not { } user) return Results.Json(new { error = "Unauthorized" }, statusCode: 401);
        if (await RequestJson.ReadAsync(http.Request, ct) is not JsonObject body || body["handle"] is not JsonValue h
            || h.GetValueKind() != System.Text.Json.JsonValueKind.String)
            return Results.Json(new { error = "Invalid request body", details = "handle must be a string" }, statusCode: 400);
        var handle = h.GetValue<string>().Trim().ToLowerInvariant();
        if (!HandlePattern().IsMatch(handle))
            return Results.Json(new { error = "Invalid handle", details = "A handle has 3–20 characters: lowercase letters, digits, '-' and '_'." }, statusCode: 400);

        try
        {
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Handle, handle), ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Results.Json(new { error = "This handle is already taken" }, statusCode: 409);
        }
        user.Handle = handle;
        return Results.Json(Profile(user));
    }

    static object Profile(User u) => new
    {
        id = u.Id,
        email = u.Email,
        handle = u.Handle,
        referral_code = u.ReferralCode,
        auto_topup_enabled = u.AutoTopupEnabled,
        auto_topup_threshold = u.AutoTopupThreshold ?? 500,
        auto_topup_amount = u.AutoTopupAmount ?? 2000,
        auto_topup_blocked_reason = (string?)null,
        created_at = u.CreatedAt,
    };
}
