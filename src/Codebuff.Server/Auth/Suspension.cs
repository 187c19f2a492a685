using Codebuff.Server.Chat;

namespace Codebuff.Server.Auth;

/// <summary>
/// What a ban (<c>user.banned</c>) does, in one place. A banned user cannot sign in and has no web session; CLI
/// sessions and tokens keep authenticating (so the CLI can say why, and log out), but every route that spends,
/// publishes or grants refuses them with chat's wire answer, 403 <c>{"error":"account_suspended","message"}</c>:
/// such routes are marked <see cref="RefuseSuspended{TBuilder}"/>. The dashboard's pages sign a banned user out
/// whatever the credential (<see cref="SignOutBanned{TBuilder}"/>).
/// </summary>
public static class Suspension
{
    public const string Error = "account_suspended";

    public static CodedResult Refusal(HttpContext http) => Errors.Coded(StatusCodes.Status403Forbidden, Error,
        $"Your account has been suspended due to billing issues. Please contact {http.RequestServices.GetRequiredService<IOptions<ChatOptions>>().Value.SupportEmail} to resolve this.");

    /// <summary>
    /// A banned caller is refused before the handler runs; nobody (no caller) passes, so the handler still answers its
    /// own 401 at the step its wire order puts it.
    /// </summary>
    public static TBuilder RefuseSuspended<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
            context.HttpContext.Features.Get<Caller>()?.User is { Banned: true } ? Refusal(context.HttpContext) : await next(context));

    /// <summary>Endpoint metadata: a banned caller counts as nobody here, whatever the credential (the dashboard's pages).</summary>
    public sealed class SignedOutWhenBanned;

    /// <summary>
    /// The dashboard's pages take API keys too and post forms that grant (a referral code, credits): a banned user is
    /// signed out of them entirely rather than refused form by form.
    /// </summary>
    public static TBuilder SignOutBanned<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new SignedOutWhenBanned());

    /// <summary>Bans or unbans the users; a ban also ends their web sessions. How many users changed.</summary>
    public static async Task<int> SetAsync(AppDbContext db, IQueryable<User> users, bool banned, CancellationToken ct)
    {
        var ids = await users.Where(u => u.Banned != banned).Select(u => u.Id).ToListAsync(ct);
        if (ids.Count == 0) return 0;
        var changed = await db.Users.Where(u => ids.Contains(u.Id)).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, banned), ct);
        if (banned) await db.Sessions.Where(s => ids.Contains(s.UserId) && s.Type == SessionType.Web).ExecuteDeleteAsync(ct);
        return changed;
    }
}
