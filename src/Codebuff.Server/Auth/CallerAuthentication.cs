using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;

namespace Codebuff.Server.Auth;

/// <summary>
/// The one authentication handler. Scheme <see cref="ApiKey"/>: the header token (api.md §1.2); scheme
/// <see cref="CookieOrApiKey"/>: the web session cookie (§1.4), then the header token. Routes marked
/// <see cref="CallerGroups.AcceptBodyAuthToken{TBuilder}"/> also take the legacy body <c>authToken</c> some CLI calls
/// still send when no header token came. A token resolves through the session table (unexpired by the injected
/// clock) to its user in one query — or, on routes marked <see cref="CallerGroups.CacheCaller{TBuilder}"/>, through the
/// <see cref="CallerCache"/>; the result is the request's <see cref="Caller"/> and a ClaimsPrincipal.
/// </summary>
public sealed class CallerAuthentication(IOptionsMonitor<CallerAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    TokenHasher hasher, TimeProvider clock, CallerCache cache) : AuthenticationHandler<CallerAuthenticationOptions>(options, logger, encoder)
{
    public const string ApiKey = "api-key";
    public const string CookieOrApiKey = "cookie-or-api-key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var caller = await ResolveAsync();
        Context.Features.Set(caller);
        if (caller.User is not { } user)
            return caller.Token is null ? AuthenticateResult.NoResult() : AuthenticateResult.Fail("the token names no unexpired session");
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user.Id), new Claim("credential", caller.Source.ToString())], Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    async Task<Caller> ResolveAsync()
    {
        var answers = CallerGroups.AnswersFor(Context);
        string? presented = null;
        if (Options.AcceptsCookie && WebSession.GetToken(Request) is { } cookie)
        {
            // A banned user has no web session (Suspension): the cookie counts as none, even before the ban deleted it.
            if (await FindAsync(cookie) is { Banned: false } user) return new Caller(user, CredentialSource.Cookie, cookie, hasher.Hash(cookie), answers);
            presented = cookie;
        }
        var (token, source) = Credentials.HeaderToken(Request) is { } header ? (header, CredentialSource.Header)
            : Context.GetEndpoint()?.Metadata.GetMetadata<CallerGroups.BodyAuthToken>() is not null && await BodyTokenAsync() is { } body
                ? (body, CredentialSource.Body) : (null, CredentialSource.None);
        if (token is null) return new Caller(null, CredentialSource.None, presented, null, answers);
        var found = await FindAsync(token);
        if (found is { Banned: true } && Context.GetEndpoint()?.Metadata.GetMetadata<Suspension.SignedOutWhenBanned>() is not null) found = null;
        return new Caller(found, source, token, hasher.Hash(token), answers);
    }

    async Task<string?> BodyTokenAsync() =>
        await RequestJson.ReadAsync(Request, Context.RequestAborted) is JsonObject body && JsonKind.StringOrNull(body["authToken"]) is { Length: > 0 } t ? t : null;

    /// <summary>The user owning an unexpired session for this token, or null.</summary>
    async Task<User?> FindAsync(string token)
    {
        var hash = hasher.Hash(token);
        var cached = Context.GetEndpoint()?.Metadata.GetMetadata<CallerGroups.CachedCaller>() is not null && cache.Enabled;
        if (cached && cache.Find(hash) is { } hit) return hit;
        var generation = cache.Generation;
        // The request's context only on a cache miss: injected, every request leased one from the pool for its whole
        // life, a chat stream's included (bench/README.md, memory).
        var db = Context.RequestServices.GetRequiredService<AppDbContext>();
        var found = await FindUser(db, hash, clock.GetUtcNow().UtcDateTime, Context.RequestAborted);
        if (found is null) return null;
        if (cached) cache.Add(hash, found.User, found.Expires, generation);
        return found.User;
    }

    sealed record SessionOwner(User User, DateTime Expires);

    // Compiled once: every authenticated request runs it, and translating the LINQ again each time cost more CPU than
    // the query itself (bench/README.md, proxy section).
    static readonly Func<AppDbContext, string, DateTime, CancellationToken, Task<SessionOwner?>> FindUser = EF.CompileAsyncQuery(
        (AppDbContext db, string hash, DateTime now, CancellationToken _) => db.Sessions.Where(s => s.SessionToken == hash && s.Expires > now)
            .Join(db.Users, s => s.UserId, u => u.Id, (s, u) => new SessionOwner(u, s.Expires))
            .AsNoTracking()
            .FirstOrDefault());

    /// <summary>The route group's own 401 body (wire-exact per group), not a bare status.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var caller = Context.Features.Get<Caller>();
        var answer = caller?.Unauthorized() ?? CallerGroups.AnswersFor(Context).Missing;
        await answer.ExecuteAsync(Context);
    }

    public static void Register(IServiceCollection services)
    {
        services.AddAuthentication()
            .AddScheme<CallerAuthenticationOptions, CallerAuthentication>(ApiKey, o => o.AcceptsCookie = false)
            .AddScheme<CallerAuthenticationOptions, CallerAuthentication>(CookieOrApiKey, o => o.AcceptsCookie = true);
        services.AddAuthorization();
    }
}
