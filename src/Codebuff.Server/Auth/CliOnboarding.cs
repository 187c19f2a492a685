namespace Codebuff.Server.Auth;

/// <summary>
/// The browser leg of the CLI login (clients.md §1.3, api.md §4.2): links the CLI's fingerprint to the user signed in
/// to the dashboard (by GitHub or by password) by creating its cli session, whose token the CLI's poll collects.
/// <para>
/// [our choice] Opening the link only shows what would be linked (<see cref="CheckAsync"/>): the code's short check,
/// which the CLI printed next to the link, and when it was requested. Linking (<see cref="LinkAsync"/>) happens on the
/// page's own form post, with its antiforgery token. Upstream links on opening, so a link (or a redirect from any site:
/// the Lax cookie rides on top-level GETs) handed a signed-in victim's CLI session to whoever asked for the code.
/// </para>
/// </summary>
public sealed class CliOnboarding(AppDbContext db, TokenHasher hasher, CliLogin login, CliTokenVault vault, TimeProvider clock, ILogger<CliOnboarding> log)
{
    public enum Outcome { Confirm, Linked, AlreadyConnected, Invalid, Expired, TakenByAnotherUser }

    /// <summary>What opening the link shows: <see cref="Outcome.Confirm"/> with the code, or why it cannot be linked. Changes nothing.</summary>
    public async Task<(Outcome Outcome, CliLogin.Code? Code)> CheckAsync(User user, string authCode, CancellationToken ct)
    {
        if (login.Read(authCode) is not { } code) return (Outcome.Invalid, null);
        if (clock.GetUtcNow() > code.Expires) return (Outcome.Expired, code);
        return (await IsLinkedAsync(user, code.Hash, ct) ? Outcome.AlreadyConnected : Outcome.Confirm, code);
    }

    /// <summary>Replay of a link this user already completed.</summary>
    Task<bool> IsLinkedAsync(User user, string hash, CancellationToken ct) =>
        db.Sessions.Where(s => s.UserId == user.Id)
            .Join(db.Fingerprints.Where(f => f.SigHash == hash), s => s.FingerprintId, f => f.Id, (s, f) => s).AnyAsync(ct);

    /// <summary>Links the fingerprint: only for the page's confirmed form post.</summary>
    /// <param name="webSessionId">The stored id of the browser's web session, linked to the fingerprint too when it has none.</param>
    public async Task<Outcome> LinkAsync(User user, string? webSessionId, string authCode, CancellationToken ct)
    {
        var (outcome, code) = await CheckAsync(user, authCode, ct);
        if (outcome != Outcome.Confirm) return outcome;
        var (fingerprintId, hash, expiresMs) = (code!.FingerprintId, code.Hash, code.Expires.ToUnixTimeMilliseconds());
        var nowUtc = clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // The signed hash claims the fingerprint (insert, or re-claim a fingerprint this user used before). The upsert
        // locks the fingerprint row first, so two users onboarding the same fingerprint at once are serialized and
        // the second one's check below sees the first one's committed session.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO fingerprint (id, sig_hash) VALUES ({fingerprintId}, {hash})
            ON CONFLICT (id) DO UPDATE SET sig_hash = excluded.sig_hash
            """, ct);
        // A fingerprint another user holds cannot be taken over.
        if (await db.Sessions.AnyAsync(s => s.FingerprintId == fingerprintId && s.UserId != user.Id && s.Expires > nowUtc, ct))
        {
            await tx.RollbackAsync(ct);
            log.LogWarning("CLI login refused: fingerprint {FingerprintId} has an active session of another user", fingerprintId);
            return Outcome.TakenByAnotherUser;
        }
        var cliToken = CliLogin.NewCliToken();
        var cliHash = hasher.Hash(cliToken);
        db.Sessions.Add(new Session
        {
            SessionToken = cliHash, UserId = user.Id, Type = SessionType.Cli,
            Expires = CliLogin.CliSessionExpiry, FingerprintId = fingerprintId,
        });
        await db.SaveChangesAsync(ct);
        await db.Sessions.Where(s => s.SessionToken == webSessionId && s.UserId == user.Id && s.Type == SessionType.Web && s.FingerprintId == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.FingerprintId, fingerprintId), ct);
        // The raw token exists only here and (encrypted) in the vault, until the CLI's poll collects it within the window.
        await vault.KeepAsync(db, cliHash, hash, cliToken, DateTimeOffset.FromUnixTimeMilliseconds(expiresMs), ct);
        await tx.CommitAsync(ct);
        return Outcome.Linked;
    }
}
