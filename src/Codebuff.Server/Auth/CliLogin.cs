using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Server.Auth;

/// <summary>The CLI fingerprint login's signatures (api.md §4.1–4.3).</summary>
public sealed class CliLogin(AuthSecret secret)
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);
    /// <summary>CLI sessions never expire on their own (upstream: JavaScript's max date).</summary>
    public static readonly DateTime CliSessionExpiry = new(4707, 11, 28, 23, 59, 59, 999, DateTimeKind.Utc);

    /// <summary>Lowercase hex SHA-256 of secret ‖ fingerprintId ‖ expiresAt, exactly as upstream signs it.</summary>
    public string Hash(string fingerprintId, string expiresAt) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret.Value + fingerprintId + expiresAt)));

    public bool Verify(string fingerprintId, string expiresAt, string hash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(fingerprintId, expiresAt)), Encoding.ASCII.GetBytes(hash));

    /// <summary>
    /// The CLI session's bearer token. Tokens are stored only as keyed hashes, yet the status poll must hand the raw
    /// token to the CLI; so the token is derived from the login attempt (fingerprint, its signed hash, the user) with
    /// the server secret. The server can recompute it while the signed login is valid — the poll refuses expired
    /// hashes — and a copy of the database alone still yields no token. [our choice, api.md §1.6]
    /// </summary>
    public string CliToken(string fingerprintId, string fingerprintHash, string userId) =>
        "cb-cli-" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("cli-session:" + secret.Value),
            Encoding.UTF8.GetBytes($"{fingerprintId}\n{fingerprintHash}\n{userId}")));

    public static string ExpiresAtText(DateTimeOffset expiresAt) => expiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
