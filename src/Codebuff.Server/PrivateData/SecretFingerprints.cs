using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Server.PrivateData;

/// <summary>
/// Every instance serving one database must hold the same secrets: a token hashed with another auth secret is
/// unknown, a provider key encrypted with another BYOK key cannot be read. The first instance records a fingerprint
/// of each secret (service.secret_fingerprint); a later one whose secrets differ refuses to start. A fingerprint is
/// PBKDF2 (100,000 rounds, per-setting salt), so a copy of the database does not make a short secret cheap to guess,
/// and the secret itself is never written to the database.
/// </summary>
public sealed class SecretFingerprints(IReadOnlyList<(string Setting, string Value)> secrets)
{
    /// <summary>Records the fingerprints if this database has none yet, else compares; throws StartupException on a mismatch.</summary>
    public async Task VerifyAsync(AppDbContext db, CancellationToken ct)
    {
        var mine = secrets.ToDictionary(s => s.Setting, s => Fingerprint(s.Setting, s.Value));
        foreach (var (setting, fingerprint) in mine)
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO service.secret_fingerprint (setting, fingerprint) VALUES ({setting}, {fingerprint}) ON CONFLICT (setting) DO NOTHING", ct);
        var recorded = await db.Database.SqlQuery<Recorded>($"SELECT setting AS \"Setting\", fingerprint AS \"Fingerprint\" FROM service.secret_fingerprint")
            .ToListAsync(ct);
        var differing = recorded.Where(r => mine.TryGetValue(r.Setting, out var f) && f != r.Fingerprint).Select(r => r.Setting).Order().ToList();
        if (differing.Count == 0) return;
        var names = string.Join(" and ", differing);
        var files = string.Join(" and ", differing.Select(FileOf));
        throw new StartupException(differing.Count == 1
            ? $"{names} differs from the value this database was first used with: copy {names} (or {files} in its DataDir) from an instance already serving this database to this one."
            : $"{names} differ from the values this database was first used with: copy {names} (or {files} in its DataDir) from an instance already serving this database to this one.");
    }

    static string FileOf(string setting) => setting == "Codebuff:AuthSecret" ? "auth.secret" : "byok.key";

    static string Fingerprint(string setting, string value) => Convert.ToHexStringLower(Rfc2898DeriveBytes.Pbkdf2(
        Encoding.UTF8.GetBytes(value), Encoding.UTF8.GetBytes("codebuff-secret-fingerprint:" + setting), 100_000, HashAlgorithmName.SHA256, 16));

    sealed class Recorded
    {
        public string Setting { get; init; } = "";
        public string Fingerprint { get; init; } = "";
    }
}
