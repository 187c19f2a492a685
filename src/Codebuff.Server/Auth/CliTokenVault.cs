using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Server.Auth;

/// <summary>
/// Holds a new CLI session's raw token for its login window, so the CLI's status poll can hand it over while the
/// database keeps only the keyed hash (api.md §1.6, [our choice]).
/// Why memory and not the database: the 20-table schema has no place for it, and a token that was never written
/// down cannot leak from a copy of the database or come back after a logout. Why encrypted (AES-GCM, key derived
/// from the auth secret, bound to the session's hash): a heap dump or swap page alone does not show it.
/// The price: a restart during the login window, or a poll answered by another server instance than the one that
/// served /onboard, leaves the CLI waiting until it times out; the user runs the login again.
/// </summary>
public sealed class CliTokenVault(AuthSecret secret, TimeProvider clock)
{
    sealed record Entry(string FingerprintHash, byte[] Nonce, byte[] Cipher, byte[] Tag, DateTimeOffset Until);

    readonly byte[] _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret.Value), "codebuff-cli-token-vault"u8);
    readonly ConcurrentDictionary<string, Entry> _entries = new();

    /// <summary>Keeps the token of the cli session stored under <paramref name="sessionHash"/> until the window ends.</summary>
    public void Keep(string sessionHash, string fingerprintHash, string token, DateTimeOffset until)
    {
        Purge();
        var plain = Encoding.UTF8.GetBytes(token);
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var cipher = new byte[plain.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using var aes = new AesGcm(_key, tag.Length);
        aes.Encrypt(nonce, plain, cipher, tag, Encoding.ASCII.GetBytes(sessionHash));
        _entries[sessionHash] = new Entry(fingerprintHash, nonce, cipher, tag, until);
    }

    /// <summary>The raw token, only within the window and only for the login attempt (signed hash) that created it.</summary>
    public string? Recover(string sessionHash, string fingerprintHash)
    {
        if (!_entries.TryGetValue(sessionHash, out var e)) return null;
        if (e.Until <= clock.GetUtcNow())
        {
            _entries.TryRemove(sessionHash, out _);
            return null;
        }
        if (e.FingerprintHash != fingerprintHash) return null;
        var plain = new byte[e.Cipher.Length];
        using var aes = new AesGcm(_key, e.Tag.Length);
        aes.Decrypt(e.Nonce, e.Cipher, e.Tag, plain, Encoding.ASCII.GetBytes(sessionHash));
        return Encoding.UTF8.GetString(plain);
    }

    public void Forget(IEnumerable<string> sessionHashes)
    {
        foreach (var hash in sessionHashes) _entries.TryRemove(hash, out _);
    }

    /// <summary>How many tokens are held (tests check that expired ones go).</summary>
    public int Count
    {
        get
        {
            Purge();
            return _entries.Count;
        }
    }

    void Purge()
    {
        var now = clock.GetUtcNow();
        foreach (var (key, e) in _entries)
            if (e.Until <= now) _entries.TryRemove(key, out _);
    }
}
