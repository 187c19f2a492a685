using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Codebuff.Server.Auth;
using Codebuff.Server.Chat;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Billing;

/// <summary>Referral redemption and the referral pages' data (api.md §4.7).</summary>
public static class ReferralEndpoints
{
    /// <summary>Bonus for each side at redemption (Dec 2025 model, the one the 20-table schema matches).</summary>
    public const int CreditsPerSide = 250;

    public static void MapReferrals(this IEndpointRouteBuilder app)
    {
        var referrals = app.MapGroup("/api/referrals");
        // Redeeming checks the body before the token (upstream's order); a code's page also serves visitors.
        var identified = referrals.MapGroup("").IdentifyCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        identified.MapPost("", Redeem).AcceptBodyAuthToken().Takes<RedeemRequest>().Answers<Redeemed>().Refuses(400, 404, 409);
        identified.MapGet("/{code}", Describe).Answers<CodeInfo>().Refuses(400);
        referrals.MapGet("", List).RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).Answers<ReferralList>();
    }

    public sealed record RedeemRequest(string ReferralCode, string? AuthToken);
    public sealed record Redeemed(string Message, [property: JsonPropertyName("credits_redeemed")] int CreditsRedeemed);
    public sealed record ReferredUser(string Id, string? Name, string Email, int Credits);
    /// <summary>referredBy is present only for a user who was referred.</summary>
    public sealed record ReferralList(string? ReferralCode, IEnumerable<ReferredUser> Referrals, int ReferralLimit, ReferredUser? ReferredBy);
    public sealed record CodeStatusDetails(int ReferralCount, string? Msg);
    public sealed record CodeStatus(string? Reason, CodeStatusDetails Details, string? ReferralLink);
    public sealed record CodeInfo(string? ReferrerName, bool IsSameUser, CodeStatus Status);

    static async Task<IResult> Redeem(HttpRequest request, Caller who, AppDbContext db, CreditLedger ledger, TimeProvider clock,
        IOptions<ChatOptions> chat, CancellationToken ct)
    {
        var body = await RequestJson.ReadAsync(request, ct) as JsonObject;
        var code = body?["referralCode"] is JsonValue codeNode && codeNode.TryGetValue<string>(out var c) ? c.Trim() : null;
        // Upstream's two paths: a web session only needs a code; the token path validates the whole body first.
        var caller = who.Source == CredentialSource.Cookie ? who.User : null;
        if (caller is not null)
        {
            if (string.IsNullOrEmpty(code)) return Errors.Error(400, "Missing referral code");
        }
        else
        {
            if (body is null || code is null || (body["authToken"] is { } t && t.GetValueKind() != System.Text.Json.JsonValueKind.String))
                return Errors.Error(400, "Invalid request body");
            if (code.Length == 0) return Errors.Error(400, "Missing referral code");
            caller = who.User;
            if (caller is null) return who.Unauthorized();
        }

        var referrer = await db.Users.AsNoTracking().Where(u => u.ReferralCode == code).Select(u => new { u.Id, u.ReferralLimit }).FirstOrDefaultAsync(ct);
        var owners = referrer is null ? new[] { LedgerOwner.User(caller.Id) } : [LedgerOwner.User(caller.Id), LedgerOwner.User(referrer.Id)];
        // Both users' ledger locks, in a stable order: concurrent redemptions of one code (the referral limit) and
        // by one user (referred once) queue here instead of both passing the checks below.
        await using var tx = await ledger.BeginAsync(owners, ct);

        if (await db.Referrals.AnyAsync(r => r.ReferredId == caller.Id, ct))
            return Errors.Error(409, "You've already been referred by someone. Each user can only be referred once.");
        if (referrer is null)
            return Errors.Error(404, $"This referral code doesn't exist! Try again or reach out to {chat.Value.SupportEmail} if the problem persists.");
        if (referrer.Id == caller.Id) return Errors.Error(400, "Nice try bud, you can't use your own referral code.");
        if (await db.Referrals.AnyAsync(r => r.ReferrerId == caller.Id && r.ReferredId == referrer.Id, ct))
            return Errors.Error(409, "You were referred by this user already. No double dipping, refer someone new!");
        if (await db.Referrals.CountAsync(r => r.ReferrerId == referrer.Id, ct) >= referrer.ReferralLimit)
            return Errors.Error(400, "This referrer has maxxed out the number of referrals they can make");

        var now = clock.GetUtcNow().UtcDateTime;
        // Both bonuses expire at the referred user's next reset; the monthly reset renews them from the referral rows.
        // Any reset that is due runs first (we hold both locks): otherwise the bonuses would take a reset date in the
        // past (expired on arrival), and a referrer's overdue reset run later would count this referral a second time
        // in the period it already pays for.
        await ledger.ResetQuotaLockedAsync(referrer.Id, ct);
        var expires = await ledger.ResetQuotaLockedAsync(caller.Id, ct);
        db.Referrals.Add(new Referral
        {
            ReferrerId = referrer.Id, ReferredId = caller.Id, Status = ReferralStatus.Completed, Credits = CreditsPerSide,
            CreatedAt = now, CompletedAt = now,
        });
        var id = Guid.NewGuid().ToString();
        await ledger.GrantLockedAsync(LedgerOwner.User(referrer.Id), $"ref-{id}-referrer", referrer.Id, CreditsPerSide, GrantType.Referral,
            "Referral bonus (you referred a user)", expires, ct);
        await ledger.GrantLockedAsync(LedgerOwner.User(caller.Id), $"ref-{id}-referred", caller.Id, CreditsPerSide, GrantType.Referral,
            "Referral bonus (you were referred)", expires, ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return Results.Json(new Redeemed("Referral applied successfully!", CreditsPerSide));
    }

    static async Task<IResult> List(Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        var referrals = await db.Referrals.Where(r => r.ReferrerId == user.Id)
            .Join(db.Users, r => r.ReferredId, u => u.Id, (r, u) => new { id = u.Id, name = u.Name, email = u.Email, credits = r.Credits, r.CreatedAt })
            .OrderBy(r => r.CreatedAt).Select(r => new { r.id, r.name, r.email, r.credits }).ToListAsync(ct);
        var referredBy = await db.Referrals.Where(r => r.ReferredId == user.Id)
            .Join(db.Users, r => r.ReferrerId, u => u.Id, (r, u) => new { id = u.Id, name = u.Name, email = u.Email, credits = r.Credits })
            .FirstOrDefaultAsync(ct);
        var result = new JsonObject
        {
            ["referralCode"] = user.ReferralCode,
            ["referrals"] = JsonSerializerToNode(referrals),
            ["referralLimit"] = user.ReferralLimit,
        };
        if (referredBy is not null) result["referredBy"] = JsonSerializerToNode(referredBy);
        return Results.Json(result);
    }

    static async Task<IResult> Describe(string code, Caller caller, AppDbContext db, IOptions<CodebuffOptions> options, CancellationToken ct)
    {
        var referrer = await db.Users.AsNoTracking().Where(u => u.ReferralCode == code)
            .Select(u => new { u.Id, u.Name, u.ReferralLimit, Count = db.Referrals.Count(r => r.ReferrerId == u.Id) }).FirstOrDefaultAsync(ct);
        if (referrer is null) return Errors.Error(400, "Invalid referral code");
        var full = referrer.Count >= referrer.ReferralLimit;
        var status = new JsonObject
        {
            ["reason"] = full ? "Referral Limit Reached" : null,
            ["details"] = new JsonObject
            {
                ["referralCount"] = referrer.Count,
                ["msg"] = full ? $"This referrer has already referred {referrer.Count} users, the most they can." : null,
            },
        };
        if (!full) status["referralLink"] = $"{options.Value.AppUrl.TrimEnd('/')}/referrals/{code}";
        return Results.Json(new JsonObject { ["referrerName"] = referrer.Name, ["isSameUser"] = caller.User?.Id == referrer.Id, ["status"] = status });
    }

    static JsonNode? JsonSerializerToNode<T>(T value) => System.Text.Json.JsonSerializer.SerializeToNode(value);
}
