using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Codebuff.Server.Auth;

/// <summary>The CLI fingerprint login's signatures (api.md §4.1–4.3).</summary>
public sealed partial class CliLogin(AuthSecret secret)
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);
    /// <summary>CLI sessions never expire on their own (upstream: JavaScript's max date).</summary>
    public static readonly DateTime CliSessionExpiry = new(4707, 11, 28, 23, 59, 59, 999, DateTimeKind.Utc);

    // The auth code is "<fingerprintId>.<expiresAt>.<hash>", so a fingerprint may not contain dots. [our choice]
    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    public static partial Regex FingerprintPattern();

    [GeneratedRegex("^[0-9]{1,15}$")]
    private static partial Regex ExpiresAtPattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HashPattern();

    /// <summary>
    /// Lowercase hex HMAC-SHA256, keyed by the auth secret, over each field with its length in front. [our choice]
    /// Upstream hashes secret ‖ fingerprintId ‖ expiresAt run together, so a code signed for ("atk19", "T") also
    /// validated for ("atk1", "9T"); with lengths no signature covers any other pair of fields. Only this server
    /// verifies the hash (the CLI echoes it), so the wire is unchanged.
    /// </summary>
    public string Hash(string fingerprintId, string expiresAt)
    {
        var message = new List<byte>(Encoding.ASCII.GetBytes("codebuff-cli-login"));
        foreach (var field in new[] { fingerprintId, expiresAt })
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            message.AddRange(length);
            message.AddRange(bytes);
        }
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret.Value), message.ToArray()));
    }

    /// <summary>Whether the fields are well formed and signed by this server (not whether they expired).</summary>
    public bool Verify(string fingerprintId, string expiresAt, string hash) =>
        FingerprintPattern().IsMatch(fingerprintId) && ExpiresAtPattern().IsMatch(expiresAt) && HashPattern().IsMatch(hash)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(fingerprintId, expiresAt)), Encoding.ASCII.GetBytes(hash));

    /// <summary>A login code this server signed: its fields, and when the CLI asked for it.</summary>
    public sealed record Code(string FingerprintId, string ExpiresAt, string Hash)
    {
        public DateTimeOffset Expires => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ExpiresAt, CultureInfo.InvariantCulture));
        public DateTimeOffset RequestedAt => Expires - Window;
        /// <summary>What the CLI prints next to the link, for the user to compare with the page.</summary>
        public string Check => Contracts.CliLoginCheck.Of(Hash);
    }

    /// <summary>The signed code in "fingerprintId.expiresAt.hash", or null when it is malformed or altered.</summary>
    public Code? Read(string? authCode) =>
        authCode?.Split('.') is [var fingerprintId, var expiresAt, var hash] && Verify(fingerprintId, expiresAt, hash)
            ? new Code(fingerprintId, expiresAt, hash) : null;

    /// <summary>A new CLI session token: a random UUID v4, as upstream's (api.md §1.1).</summary>
    public static string NewCliToken() => Guid.NewGuid().ToString();

    public static string ExpiresAtText(DateTimeOffset expiresAt) => expiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
