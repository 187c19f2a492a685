using Codebuff.Server.Data;

namespace Codebuff.Server.Auth;

/// <summary>
/// The one place a route finds its caller when it accepts more than a bare API key: the web session cookie
/// (api.md §1.4, checked first as upstream does), then the header token (§1.2), then the legacy body
/// <c>authToken</c> some CLI calls still send.
/// </summary>
public static class RequestUser
{
    public static async Task<User?> FindAsync(HttpContext http, AppDbContext db, TokenHasher hasher, string? bodyAuthToken, CancellationToken ct)
    {
        if (await WebSession.FindUserAsync(http, db, hasher, ct) is { } user) return user;
        var token = ApiKeyAuth.GetToken(http.Request) ?? (string.IsNullOrEmpty(bodyAuthToken) ? null : bodyAuthToken);
        return token is null ? null : await ApiKeyAuth.FindUserAsync(db, hasher, token, ct);
    }
}
