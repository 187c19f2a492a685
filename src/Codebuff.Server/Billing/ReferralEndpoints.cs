using Codebuff.Server.Chat;

namespace Codebuff.Server.Billing;

/// <summary>Referral redemption and the referral pages' data (api.md §4.7).</summary>
public static class ReferralEndpoints
{
    public static void MapReferrals(this IEndpointRouteBuilder app)
    {
        var referrals = app.MapGroup("/api/referrals");
        // Redeeming checks the body before the token (upstream's order); a code's page also serves visitors.
        var identified = referrals.MapGroup("").IdentifyCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        identified.MapPost("", Redeem).AcceptBodyAuthToken().RefuseSuspended().Takes<RedeemRequest>().Answers<Redeemed>().Refuses(400, 404, 409);
        identified.MapGet("/{code}", Describe).Answers<CodeInfo>().Refuses(400);
        referrals.MapGet("", List).RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).Answers<ReferralList>();
    }

    public sealed record RedeemRequest(string ReferralCode, string? AuthToken);
    public sealed record Redeemed(string Message, [property: JsonPropertyName("credits_redeemed")] int CreditsRedeemed);
    /// <summary>referredBy is present only for a user who was referred.</summary>
    public sealed record ReferralList(string? ReferralCode, IEnumerable<Referrals.ReferredUser> Referrals, int ReferralLimit,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Referrals.ReferredUser? ReferredBy);
    public sealed record CodeStatusDetails(int ReferralCount, string? Msg);
    /// <summary>referralLink only while the code still takes referrals.</summary>
    public sealed record CodeStatus(string? Reason, CodeStatusDetails Details,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReferralLink);
    public sealed record CodeInfo(string? ReferrerName, bool IsSameUser, CodeStatus Status);

    static async Task<Results<Ok<Redeemed>, ErrorResult>> Redeem(HttpRequest request, Caller who, AppDbContext db, CreditLedger ledger, TimeProvider clock,
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
            if (body is null || code is null || (body["authToken"] is { } t && t.GetValueKind() != JsonValueKind.String))
                return Errors.Error(400, "Invalid request body");
            if (code.Length == 0) return Errors.Error(400, "Missing referral code");
            caller = who.User;
            if (caller is null) return who.Unauthorized<ErrorResult>();
        }

        return await Referrals.RedeemAsync(db, ledger, clock, caller.Id, code, chat.Value.SupportEmail, ct) is { } refused
            ? refused.ToResult()
            : TypedResults.Ok(new Redeemed("Referral applied successfully!", Referrals.CreditsPerSide));
    }

    static async Task<Ok<ReferralList>> List(Caller caller, AppDbContext db, CancellationToken ct)
    {
        var overview = await Referrals.OverviewAsync(db, caller.Required, ct);
        return TypedResults.Ok(new ReferralList(overview.ReferralCode, overview.Referrals, overview.ReferralLimit, overview.ReferredBy));
    }

    static async Task<Results<Ok<CodeInfo>, ErrorResult>> Describe(string code, Caller caller, AppDbContext db, IOptions<CodebuffOptions> options, CancellationToken ct)
    {
        var referrer = await Referrals.ReferrerAsync(db, code, ct);
        if (referrer is null) return Errors.Error(400, "Invalid referral code");
        var full = referrer.Full;
        var status = new CodeStatus(full ? "Referral Limit Reached" : null,
            new CodeStatusDetails(referrer.Count, full ? $"This referrer has already referred {referrer.Count} users, the most they can." : null),
            full ? null : Referrals.Link(options.Value.AppUrl, code));
        return TypedResults.Ok(new CodeInfo(referrer.Name, caller.User?.Id == referrer.Id, status));
    }
}
