using System.Text.RegularExpressions;
using Codebuff.Server.Billing;
using Codebuff.Server.Orgs;
using Codebuff.Server.Payments;

namespace Codebuff.Server.Auth;

/// <summary>The dashboard's profile (api.md §5.3), answered in the seed's UserProfile shape.</summary>
public static partial class ProfileEndpoints
{
    [GeneratedRegex("^[a-z0-9_-]{3,20}$")]
    private static partial Regex HandlePattern();

    public static void MapProfile(this IEndpointRouteBuilder app)
    {
        var profile = app.MapGroup("/api/user/profile").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        profile.MapGet("", Get).Answers<UserProfile>();
        profile.MapPatch("", Update).Takes<UpdateProfileRequest>().Answers<UserProfile>().RefusesWith<ErrorDetailsBody>(400).Refuses(409);
    }

    /// <summary>The seed's UserProfile shape (snake_case, as upstream's dashboard reads it).</summary>
    public sealed record UserProfile(
        string Id, string Email, string? Handle,
        [property: JsonPropertyName("referral_code")] string? ReferralCode,
        [property: JsonPropertyName("auto_topup_enabled")] bool AutoTopupEnabled,
        [property: JsonPropertyName("auto_topup_threshold")] int AutoTopupThreshold,
        [property: JsonPropertyName("auto_topup_amount")] int AutoTopupAmount,
        [property: JsonPropertyName("auto_topup_blocked_reason")] string? AutoTopupBlockedReason,
        [property: JsonPropertyName("created_at")] DateTime CreatedAt);

    public sealed record UpdateProfileRequest(string Handle);

    static async Task<Ok<UserProfile>> Get(Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        var blocked = user.AutoTopupEnabled ? null : await AutoTopUp.BlockedReasonAsync(db, LedgerOwner.User(user.Id), ct);
        return TypedResults.Ok(Profile(user, blocked));
    }

    static async Task<Results<Ok<UserProfile>, DetailsResult, ErrorResult>> Update(HttpRequest request, Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body || JsonKind.StringOrNull(body["handle"]) is not { } raw)
            return Errors.Details(400, "Invalid request body", "handle must be a string");
        if (await SetHandleAsync(db, user, raw, ct) is { } refused)
            return refused.Status == 400 ? Errors.Details(400, "Invalid handle", refused.Message) : refused.ToResult();
        return TypedResults.Ok(Profile(user, null));
    }

    /// <summary>Sets the user's handle (trimmed, lower-cased, unique); null when set, otherwise why not (400 or 409).</summary>
    public static async Task<Refusal?> SetHandleAsync(AppDbContext db, User user, string raw, CancellationToken ct)
    {
        var handle = raw.Trim().ToLowerInvariant();
        if (!HandlePattern().IsMatch(handle)) return new(400, "A handle has 3–20 characters: lowercase letters, digits, '-' and '_'.");
        try
        {
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Handle, handle), ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return new(409, "This handle is already taken");
        }
        user.Handle = handle;
        return null;
    }

    static UserProfile Profile(User u, string? blockedReason) => new(u.Id, u.Email, u.Handle, u.ReferralCode, u.AutoTopupEnabled,
        u.AutoTopupThreshold ?? 500, u.AutoTopupAmount ?? 2000, blockedReason, u.CreatedAt);
}
