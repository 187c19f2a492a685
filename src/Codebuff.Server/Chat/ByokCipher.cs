using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Server.Chat;

/// <summary>
/// AES-256-GCM for stored provider keys in upstream's format (schema.md §3.10): lowercase hex
/// "&lt;12-byte iv&gt;:&lt;ciphertext&gt;:&lt;16-byte tag&gt;". A master key of exactly 32 UTF-8 bytes is used as is, like upstream,
/// so existing rows stay readable; any other secret (e.g. the generated 64-hex one) is stretched with SHA-256.
/// </summary>
public sealed class ByokCipher(string masterKey)
{
    readonly byte[] _key = Encoding.UTF8.GetByteCount(masterKey) == 32 ? Encoding.UTF8.GetBytes(masterKey) : SHA256.HashData(Encoding.UTF8.GetBytes(masterKey));

    public string Encrypt(string plaintext)
    {
        var iv = RandomNumberGenerator.GetBytes(12);
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var cipher = new byte[plain.Length];
        var tag = new byte[16];
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(iv, plain, cipher, tag);
        return $"{Convert.ToHexStringLower(iv)}:{Convert.ToHexStringLower(cipher)}:{Convert.ToHexStringLower(tag)}";
    }

    /// <returns>The key, or null when the value is malformed or was encrypted under another master key ("no key").</returns>
    public string? Decrypt(string stored)
    {
        var parts = stored.Split(':');
        if (parts.Length != 3) return null;
        try
        {
            var iv = Convert.FromHexString(parts[0]);
            var cipher = Convert.FromHexString(parts[1]);
            var tag = Convert.FromHexString(parts[2]);
            if (iv.Length != 12 || tag.Length != 16) return null;
            var plain = new byte[cipher.Length];
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(iv, cipher, tag, plain);
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception e) when (e is FormatException or CryptographicException) { return null; }
    }

    /// <summary>Enough to recognise a key, never enough to use it: first 4 and last 4 characters.</summary>
    public static string Mask(string key) => key.Length <= 12 ? new string('•', key.Length) : $"{key[..4]}…{key[^4..]}";
}
