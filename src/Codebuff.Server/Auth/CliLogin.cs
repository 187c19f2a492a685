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

    /// <summary>A new CLI session token: a random UUID v4, as upstream's (api.md §1.1).</summary>
    public static string NewCliToken() => Guid.NewGuid().ToString();

    public static string ExpiresAtText(DateTimeOffset expiresAt) => expiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
