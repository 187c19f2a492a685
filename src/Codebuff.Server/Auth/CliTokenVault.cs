using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Server.Auth;

/// <summary>
/// Holds a new CLI session's raw token for its login window, so the CLI's status poll can collect it while the
/// session row keeps only the keyed hash (api.md §1.6, [our choice]).
/// The token lives in service.cli_login_token, so a poll answered by any server instance finds it and a restart loses
/// nothing. It is AES-GCM encrypted with a key derived from the auth secret and bound to the session's hash, so a copy
/// of the database alone does not reveal it; the row is deleted when the poll collects it or the window has passed
/// (ExpiredRowSweeper).
/// </summary>
public sealed class CliTokenVault(AuthSecret secret)
{
    const int NonceSize = 12, TagSize = 16;
    readonly byte[] _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret.Value), "codebuff-cli-token-vault"u8);

    /// <summary>Keeps the token of the cli session stored under <paramref name="sessionHash"/> until the window ends;
    /// called inside the transaction that creates the session, so both exist or neither does.</summary>
    public Task KeepAsync(AppDbContext db, string sessionHash, string fingerprintHash, string token, DateTimeOffset until, CancellationToken ct)
    {
        var plain = Encoding.UTF8.GetBytes(token);
        var sealedToken = new byte[NonceSize + plain.Length + TagSize];
        var nonce = sealedToken.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, sealedToken.AsSpan(NonceSize, plain.Length), sealedToken.AsSpan(NonceSize + plain.Length), Encoding.ASCII.GetBytes(sessionHash));
        return db.Database.ExecuteSqlAsync($"""
            INSERT INTO service.cli_login_token (session_hash, fingerprint_hash, sealed, expires_at)
            VALUES ({sessionHash}, {fingerprintHash}, {sealedToken}, {until.UtcDateTime})
            ON CONFLICT (session_hash) DO UPDATE SET fingerprint_hash = excluded.fingerprint_hash, sealed = excluded.sealed, expires_at = excluded.expires_at
            """, ct);
    }

    /// <summary>
    /// Takes the raw token of one of <paramref name="sessionHashes"/>, only within its window and only for the login
    /// attempt (signed hash) that created it. Collecting deletes it: the token is handed out once.
    /// </summary>
    public async Task<(string SessionHash, string Token)?> CollectAsync(AppDbContext db, IReadOnlyCollection<string> sessionHashes, string fingerprintHash,
        DateTimeOffset now, CancellationToken ct)
    {
        if (sessionHashes.Count == 0) return null;
        var hashes = sessionHashes.ToArray();
        var rows = await db.Database.SqlQuery<Sealed>($"""
            DELETE FROM service.cli_login_token
            WHERE session_hash = ANY({hashes}) AND fingerprint_hash = {fingerprintHash} AND expires_at > {now.UtcDateTime}
            RETURNING session_hash AS "SessionHash", sealed AS "Token"
            """).ToListAsync(ct);
        if (rows is not [var row, ..]) return null;
        var cipherLength = row.Token.Length - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(row.Token.AsSpan(0, NonceSize), row.Token.AsSpan(NonceSize, cipherLength), row.Token.AsSpan(NonceSize + cipherLength),
            plain, Encoding.ASCII.GetBytes(row.SessionHash));
        return (row.SessionHash, Encoding.UTF8.GetString(plain));
    }

    public Task ForgetAsync(AppDbContext db, string sessionHash, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"DELETE FROM service.cli_login_token WHERE session_hash = {sessionHash}", ct);

    /// <summary>Deletes the tokens whose window has passed (nobody can collect them any more).</summary>
    public Task SweepAsync(AppDbContext db, DateTimeOffset now, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"DELETE FROM service.cli_login_token WHERE expires_at <= {now.UtcDateTime}", ct);

    sealed class Sealed
    {
        public string SessionHash { get; init; } = "";
        public byte[] Token { get; init; } = [];
    }
}
