using Codebuff.Contracts;

namespace Codebuff.Server.Auth;

/// <summary>The CLI's side of fingerprint login (api.md §4.1, §4.3, §4.4); the browser side is Web/OnboardPages.</summary>
public static class CliAuthEndpoints
{
    public static void MapCliAuth(this IEndpointRouteBuilder app)
    {
        var cli = app.MapGroup("/api/auth/cli");
        cli.MapPost("/code", PostCode).Takes<CodeRequest>().Answers<CliLoginCode>().Refuses(400, 429).RequireRateLimiting(AuthRateLimits.Login);
        cli.MapGet("/status", GetStatus).Answers<CliLoginStatus>().Refuses(400, 401, 429).RequireRateLimiting(AuthRateLimits.Status);
        // Logout needs the token presented, not a user: a token that names nobody is an idempotent no-op.
        cli.MapPost("/logout", PostLogout).IdentifyCaller(CallerAuthentication.ApiKey, Unauthenticated.Dashboard).AcceptBodyAuthToken()
            .Takes<LogoutRequest>().Answers<Succeeded>().Refuses(400, 429).RequireRateLimiting(AuthRateLimits.Login);
    }

    public sealed record CodeRequest(string FingerprintId, string? ReferralCode);
    public sealed record LogoutRequest(string UserId, string FingerprintId, string FingerprintHash, string? AuthToken);

    static async Task<Results<Ok<CliLoginCode>, ErrorResult>> PostCode(HttpRequest request, CliLogin login, IOptions<CodebuffOptions> options, TimeProvider clock, CancellationToken ct)
    {
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body
            || !TryString(body, "fingerprintId", out var fingerprintId) || fingerprintId is null || !CliLogin.FingerprintPattern().IsMatch(fingerprintId)
            || !TryString(body, "referralCode", out var referralCode))
            return Errors.Error(400, "Invalid request body");

        var expiresAt = CliLogin.ExpiresAtText(clock.GetUtcNow() + CliLogin.Window);
        var hash = login.Hash(fingerprintId, expiresAt);
        var loginUrl = $"{options.Value.AppUrl.TrimEnd('/')}/login?auth_code={fingerprintId}.{expiresAt}.{hash}"
                       + (string.IsNullOrEmpty(referralCode) ? "" : $"&referral_code={Uri.EscapeDataString(referralCode)}");
        return TypedResults.Ok(new CliLoginCode(fingerprintId, hash, loginUrl, long.Parse(expiresAt)));
    }

    static async Task<Results<Ok<CliLoginStatus>, ErrorResult>> GetStatus(HttpRequest request, AppDbContext db, CliLogin login, CliTokenVault vault, TimeProvider clock, CancellationToken ct)
    {
        string fingerprintId = request.Query["fingerprintId"].ToString(), hash = request.Query["fingerprintHash"].ToString(),
            expiresAt = request.Query["expiresAt"].ToString();
        if (fingerprintId.Length == 0 || hash.Length == 0 || expiresAt.Length == 0) return Errors.Error(400, "Invalid query parameters");
        var now = clock.GetUtcNow();
        if (!long.TryParse(expiresAt, out var expiresMs) || now.ToUnixTimeMilliseconds() > expiresMs || !login.Verify(fingerprintId, expiresAt, hash))
            return Errors.Error(401, "Authentication failed");

        var nowUtc = now.UtcDateTime;
        var candidates = await db.Sessions
            .Where(s => s.FingerprintId == fingerprintId && s.Expires > nowUtc && s.Type == SessionType.Cli)
            .Join(db.Fingerprints.Where(f => f.SigHash == hash || f.SigHash == null), s => s.FingerprintId, f => f.Id, (s, f) => s)
            .Join(db.Users, s => s.UserId, u => u.Id, (s, u) => new { s.SessionToken, u.Id, u.Name, u.Email })
            .ToListAsync(ct);
        // Only a session this login created has its raw token in the vault (bound to this hash): a session from
        // another login of the same fingerprint, or one whose window has passed, does not answer this poll.
        if (await vault.CollectAsync(db, candidates.Select(c => c.SessionToken).ToList(), hash, now, ct) is not { } collected)
            return Errors.Error(401, "Authentication failed");
        var user = candidates.First(c => c.SessionToken == collected.SessionHash);
        return TypedResults.Ok(new CliLoginStatus(new CliUser(user.Id, user.Name, user.Email, collected.Token, fingerprintId, hash), "Authentication successful!"));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> PostLogout(HttpRequest request, Caller caller, AppDbContext db, TokenHasher hasher, CliTokenVault vault, CancellationToken ct)
    {
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body
            || !TryString(body, "userId", out var userId) || userId is null
            || !TryString(body, "fingerprintId", out var fingerprintId) || fingerprintId is null
            || !TryString(body, "fingerprintHash", out var hash) || hash is null
            || !TryString(body, "authToken", out _))
            return Errors.Error(400, "Invalid request body");
        if (caller.Token is not { } token) return caller.Unauthorized<ErrorResult>();

        // Dec 2025 rule (api.md §4.4, our choice): end only the session this token names, for that user and
        // fingerprint; anything else is an idempotent no-op. The fingerprint is unclaimed only if this login claimed it.
        var tokenHash = hasher.Hash(token);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var deleted = await db.Sessions
            .Where(s => s.SessionToken == tokenHash && s.UserId == userId && s.FingerprintId == fingerprintId)
            .ExecuteDeleteAsync(ct);
        if (deleted > 0)
            await db.Fingerprints.Where(f => f.Id == fingerprintId && f.SigHash == hash)
                .ExecuteUpdateAsync(s => s.SetProperty(f => f.SigHash, (string?)null), ct);
        await vault.ForgetAsync(db, tokenHash, ct);
        await tx.CommitAsync(ct);
        return TypedResults.Ok(new Succeeded(true));
    }

    /// <summary>True when the field is absent (value null) or a string; false for any other JSON type.</summary>
    static bool TryString(JsonObject body, string name, out string? value)
    {
        value = null;
        var node = body[name];
        if (node is null) return true;
        if (node.GetValueKind() != JsonValueKind.String) return false;
        value = node.GetValue<string>();
        return true;
    }
}
