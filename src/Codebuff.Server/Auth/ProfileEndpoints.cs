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
        var profile = app.MapGroup("/api/user/profile").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        profile.MapGet("", Get);
        profile.MapPatch("", Update);
    }

    static IResult Get(Caller caller) => Results.Json(Profile(caller.Required));

    static async Task<IResult> Update(HttpRequest request, Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body || JsonKind.StringOrNull(body["handle"]) is not { } raw)
            return Errors.Details(400, "Invalid request body", "handle must be a string");
        var handle = raw.Trim().ToLowerInvariant();
        if (!HandlePattern().IsMatch(handle))
            return Errors.Details(400, "Invalid handle", "A handle has 3–20 characters: lowercase letters, digits, '-' and '_'.");

        try
        {
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Handle, handle), ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Errors.Error(409, "This handle is already taken");
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
