using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Auth;

/// <summary>Token extraction and lookup shared by every API-key route (wire rules: api.md §1.2–1.3).</summary>
public static class ApiKeyAuth
{
    /// <summary>x-codebuff-api-key first, then "Authorization: Bearer &lt;t&gt;" (exact prefix); anything else is no token.</summary>
    public static string? GetToken(HttpRequest request)
    {
        var key = request.Headers["x-codebuff-api-key"].ToString();
        if (!string.IsNullOrEmpty(key)) return key;
        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer ", StringComparison.Ordinal) && auth.Length > 7 ? auth[7..] : null;
    }

    /// <summary>The user owning an unexpired session for this token, or null.</summary>
    public static Task<User?> FindUserAsync(AppDbContext db, TokenHasher hasher, string token, CancellationToken ct = default)
    {
        var hash = hasher.Hash(token);
        var now = DateTime.UtcNow;
        return db.Sessions.Where(s => s.SessionToken == hash && s.Expires > now)
            .Join(db.Users, s => s.UserId, u => u.Id, (s, u) => u)
            .AsNoTracking()
            .FirstOrDefaultAsync(ct);
    }
}
