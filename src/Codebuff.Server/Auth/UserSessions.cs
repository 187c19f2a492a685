namespace Codebuff.Server.Auth;

/// <summary>
/// A user's credentials — personal access tokens and web/cli sessions — as the JSON routes and the dashboard page
/// both manage them. The id of a session or token is its stored hash; the raw token exists only at creation.
/// </summary>
public static class UserSessions
{
    public sealed record TokenInfo(string Id, DateTime Expires, string? Name = null)
    {
        public string Masked => $"cb-pat-…{Id[^8..]}";
    }

    public sealed record SessionInfo(string Id, DateTime Expires, string? FingerprintId, SessionType Type, DateTime? FingerprintCreatedAt)
    {
        public string Label => "••••" + Id[^4..];

        /// <summary>
        /// When the session began. The seed's session row has no creation time: a web session always lives exactly
        /// WebSession.Lifetime (never extended), so it began that long before it expires; a CLI session began with its
        /// login, which made its (fresh, per-login) fingerprint.
        /// </summary>
        public DateTime? FirstSeen => Type == SessionType.Web ? Expires - WebSession.Lifetime : FingerprintCreatedAt;
    }

    public static async Task<List<TokenInfo>> ListTokensAsync(AppDbContext db, string userId, DateTime now, CancellationToken ct)
    {
        var tokens = await db.Sessions.Where(s => s.UserId == userId && s.Type == SessionType.Pat && s.Expires > now)
            .OrderBy(s => s.Expires).Select(s => new TokenInfo(s.SessionToken, s.Expires, null)).ToListAsync(ct);
        if (tokens.Count == 0) return tokens;
        var ids = tokens.Select(t => t.Id).ToArray();
        var names = await db.Database.SqlQuery<KeyName>($"SELECT session_token AS \"Id\", name AS \"Name\" FROM service.api_key_name WHERE session_token = ANY({ids})")
            .ToDictionaryAsync(n => n.Id, n => n.Name, ct);
        return [.. tokens.Select(t => t with { Name = names.GetValueOrDefault(t.Id) })];
    }

    sealed record KeyName(string Id, string Name);

    /// <summary>A new personal access token; its optional name (trimmed, at most 100 characters) is kept beside it.</summary>
    public static async Task<(string Token, DateTime Expires)> CreateTokenAsync(AppDbContext db, TokenHasher hasher, string userId, int days, DateTime now,
        CancellationToken ct, string? name = null)
    {
        var token = TokenHasher.NewPersonalAccessToken();
        var expires = now.AddDays(days);
        var hash = hasher.Hash(token);
        name = string.IsNullOrWhiteSpace(name) ? null : name.Trim()[..Math.Min(name.Trim().Length, 100)];
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Sessions.Add(new Session { SessionToken = hash, UserId = userId, Type = SessionType.Pat, Expires = expires });
        await db.SaveChangesAsync(ct);
        if (name is not null) await db.Database.ExecuteSqlAsync($"INSERT INTO service.api_key_name (session_token, name) VALUES ({hash}, {name})", ct);
        await tx.CommitAsync(ct);
        return (token, expires);
    }

    public static Task<List<SessionInfo>> ListSessionsAsync(AppDbContext db, string userId, DateTime now, CancellationToken ct) =>
        db.Sessions
            .Where(s => s.UserId == userId && s.Type != SessionType.Pat && s.Expires > now)
            .GroupJoin(db.Fingerprints, s => s.FingerprintId, f => f.Id, (s, fs) => new { s, fs })
            .SelectMany(x => x.fs.DefaultIfEmpty(), (x, f) => new SessionInfo(x.s.SessionToken, x.s.Expires, x.s.FingerprintId, x.s.Type, (DateTime?)f!.CreatedAt))
            .ToListAsync(ct);

    /// <summary>
    /// Deletes the user's own web/cli sessions and personal access tokens named by id (stored hash) or raw token; the
    /// fingerprints of deleted cli sessions are unclaimed. Ids of other users' credentials match nothing.
    /// </summary>
    public static async Task<(int Sessions, int Tokens)> RevokeAsync(AppDbContext db, TokenHasher hasher, string userId,
        IEnumerable<string> sessionIds, IEnumerable<string> tokenIds, CancellationToken ct)
    {
        var sessionKeys = sessionIds.SelectMany(id => new[] { id, hasher.Hash(id) }).ToList();
        var tokenKeys = tokenIds.SelectMany(id => new[] { id, hasher.Hash(id) }).ToList();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var fingerprints = await db.Sessions
            .Where(s => s.UserId == userId && s.Type == SessionType.Cli && s.FingerprintId != null && sessionKeys.Contains(s.SessionToken))
            .Select(s => s.FingerprintId!).ToListAsync(ct);
        var sessions = await db.Sessions
            .Where(s => s.UserId == userId && (s.Type == SessionType.Web || s.Type == SessionType.Cli) && sessionKeys.Contains(s.SessionToken))
            .ExecuteDeleteAsync(ct);
        if (fingerprints.Count > 0)
            await db.Fingerprints.Where(f => fingerprints.Contains(f.Id)).ExecuteUpdateAsync(s => s.SetProperty(f => f.SigHash, (string?)null), ct);
        var tokens = await db.Sessions
            .Where(s => s.UserId == userId && s.Type == SessionType.Pat && tokenKeys.Contains(s.SessionToken))
            .ExecuteDeleteAsync(ct);
        await tx.CommitAsync(ct);
        return (sessions, tokens);
    }

    /// <summary>
    /// Ends every web and CLI session of the user and unclaims the CLI's fingerprints (a password reset: whoever knew
    /// the old password may have logged in anywhere). Personal access tokens stay: they are deliberate credentials,
    /// revoked on their own (<see cref="RevokeAllTokensAsync"/>). Run it inside the caller's transaction.
    /// </summary>
    public static async Task<int> EndSignInsAsync(AppDbContext db, string userId, CancellationToken ct)
    {
        var fingerprints = db.Sessions.Where(s => s.UserId == userId && s.Type == SessionType.Cli && s.FingerprintId != null).Select(s => s.FingerprintId);
        await db.Fingerprints.Where(f => fingerprints.Contains(f.Id)).ExecuteUpdateAsync(s => s.SetProperty(f => f.SigHash, (string?)null), ct);
        return await db.Sessions.Where(s => s.UserId == userId && (s.Type == SessionType.Web || s.Type == SessionType.Cli)).ExecuteDeleteAsync(ct);
    }

    /// <summary>Revokes every personal access token of the user at once; how many there were.</summary>
    public static Task<int> RevokeAllTokensAsync(AppDbContext db, string userId, CancellationToken ct) =>
        db.Sessions.Where(s => s.UserId == userId && s.Type == SessionType.Pat).ExecuteDeleteAsync(ct);

    /// <summary>Signs the user out of every browser but the one asking (<paramref name="currentSessionId"/>, its stored hash).</summary>
    public static Task<int> LogOutOtherWebSessionsAsync(AppDbContext db, string userId, string? currentSessionId, CancellationToken ct) =>
        db.Sessions.Where(s => s.UserId == userId && s.Type == SessionType.Web && s.SessionToken != currentSessionId).ExecuteDeleteAsync(ct);
}
