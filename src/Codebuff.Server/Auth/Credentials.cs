namespace Codebuff.Server.Auth;

/// <summary>Where a request's credential came from: the web cookie (api.md §1.4), a header (§1.2) or a legacy body field.</summary>
public enum CredentialSource { None, Cookie, Header, Body }

/// <summary>Reading the header credential (wire rules: api.md §1.2–1.3); the cookie is <see cref="WebSession.GetToken"/>.</summary>
public static class Credentials
{
    /// <summary>x-codebuff-api-key first, then "Authorization: Bearer &lt;t&gt;" (exact prefix); anything else is no token.</summary>
    public static string? HeaderToken(HttpRequest request)
    {
        var key = request.Headers["x-codebuff-api-key"].ToString();
        if (!string.IsNullOrEmpty(key)) return key;
        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer ", StringComparison.Ordinal) && auth.Length > 7 ? auth[7..] : null;
    }
}
