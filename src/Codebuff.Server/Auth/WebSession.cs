using System.Security.Cryptography;

namespace Codebuff.Server.Auth;

/// <summary>
/// The dashboard's cookie session (api.md §1.4): the cookie holds a session token, which resolves like any other
/// token through the session table. One place reads and writes it.
/// </summary>
public static class WebSession
{
    public const string Cookie = "next-auth.session-token";
    public const string SecureCookie = "__Secure-next-auth.session-token";
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);

    public static string? GetToken(HttpRequest request) =>
        request.Cookies[SecureCookie] is { Length: > 0 } secure ? secure
        : request.Cookies[Cookie] is { Length: > 0 } plain ? plain
        : request.Cookies["authjs.session-token"] is { Length: > 0 } authjs ? authjs : null;

    /// <summary>Adds a 30-day web session for the user (the caller saves) and sets its cookie on the response.</summary>
    public static string Start(HttpContext http, AppDbContext db, TokenHasher hasher, string userId, DateTime now)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        db.Sessions.Add(new Session { SessionToken = hasher.Hash(token), UserId = userId, Type = SessionType.Web, Expires = now + Lifetime });
        var secure = http.Request.IsHttps;
        http.Response.Cookies.Append(secure ? SecureCookie : Cookie, token, new CookieOptions
        {
            HttpOnly = true, Secure = secure, SameSite = SameSiteMode.Lax, Path = "/", Expires = now + Lifetime,
        });
        return token;
    }

    /// <summary>Ends the browser's session: the row goes and the cookie is cleared.</summary>
    public static async Task EndAsync(HttpContext http, AppDbContext db, TokenHasher hasher, CancellationToken ct)
    {
        if (GetToken(http.Request) is { } token)
        {
            var hash = hasher.Hash(token);
            await db.Sessions.Where(s => s.SessionToken == hash && s.Type == SessionType.Web).ExecuteDeleteAsync(ct);
        }
        http.Response.Cookies.Delete(Cookie, new CookieOptions { Path = "/" });
        http.Response.Cookies.Delete(SecureCookie, new CookieOptions { Path = "/", Secure = true });
    }

    /// <summary>
    /// Whether a state-changing browser request comes from this site (Origin, else Referer, matches the app URL or the
    /// address it was served on): with the SameSite=Lax cookie, the defence against cross-site form posts.
    /// </summary>
    public static bool IsSameOrigin(HttpContext http, string appUrl)
    {
        var origin = http.Request.Headers.Origin.ToString() is { Length: > 0 } o ? o : http.Request.Headers.Referer.ToString();
        return Matches(origin, appUrl) || Matches(origin, $"{http.Request.Scheme}://{http.Request.Host}");
    }

    /// <summary>
    /// A state-changing request the browser sent on its own: signed in by the cookie and not from this site. A header
    /// token is never attached by a browser, so scripts calling with a personal access token need no Origin.
    /// </summary>
    public static bool IsCrossSite(HttpContext http, Caller caller, string appUrl) =>
        caller.Source == CredentialSource.Cookie && !IsSameOrigin(http, appUrl);

    static bool Matches(string url, string site) =>
        Uri.TryCreate(url, UriKind.Absolute, out var a) && Uri.TryCreate(site, UriKind.Absolute, out var b)
        && a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}
