using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Server.Auth;

/// <summary>
/// Bearer tokens are stored as HMAC-SHA256(auth secret, token) in session."sessionToken": the lookup stays an index
/// hit on the primary key, and a copy of the database alone hands out no working token.
/// </summary>
public sealed class TokenHasher(string secret)
{
    readonly byte[] _key = SHA256.HashData(Encoding.UTF8.GetBytes("codebuff-token-hash:" + secret));

    public string Hash(string token) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(token)));

    /// <summary>A personal access token: "cb-pat-" + 64 lowercase hex characters (32 random bytes).</summary>
    public static string NewPersonalAccessToken() => "cb-pat-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
