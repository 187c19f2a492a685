namespace Codebuff.Contracts;

/// <summary>POST /api/auth/cli/code → the login link the CLI opens and the values it polls with (api.md §4.1).</summary>
public sealed record CliLoginCode(string FingerprintId, string FingerprintHash, string LoginUrl, long ExpiresAt);

/// <summary>GET /api/auth/cli/status → the signed-in user and the CLI's token (api.md §4.3).</summary>
public sealed record CliLoginStatus(CliUser User, string Message);

/// <summary>What the CLI stores as its credentials; it then sends <c>Authorization: Bearer AuthToken</c>.</summary>
public sealed record CliUser(string Id, string? Name, string Email, string AuthToken, string FingerprintId, string FingerprintHash);

/// <summary>
/// The short code a login shows twice: the CLI prints it next to the link, the browser page shows it before linking,
/// and the user confirms they match (a link opened elsewhere, sent by someone else, shows a code no terminal of theirs
/// printed). Derived from the login code's signature, so both sides compute it without another round trip.
/// </summary>
public static class CliLoginCheck
{
    const string Alphabet = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"; // Crockford-like: no I, L, O, U

    /// <summary>Eight characters as "ABCD-EFGH" (40 bits of SHA-256 over the login code's hash).</summary>
    public static string Of(string fingerprintHash)
    {
        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("codebuff-cli-check:" + fingerprintHash));
        ulong bits = 0;
        for (var i = 0; i < 5; i++) bits = (bits << 8) | digest[i];
        var chars = new char[9];
        for (int i = 0, c = 0; i < 8; i++, c++)
        {
            if (i == 4) chars[c++] = '-';
            chars[c] = Alphabet[(int)((bits >> (35 - 5 * i)) & 31)];
        }
        return new string(chars);
    }
}
