using System.Text;
using System.Text.RegularExpressions;

namespace Codebuff.Server.Orgs;

/// <summary>Organization names and the slugs derived from them (api.md §5.5, POST /api/orgs).</summary>
public static partial class OrgNames
{
    public const int MinLength = 3, MaxLength = 50;

    /// <summary>Why a (trimmed) name is refused, or null when it is fine.</summary>
    public static string? Error(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return "Organization name is required";
        name = name.Trim();
        if (name.Length < MinLength) return $"Organization name must be at least {MinLength} characters";
        if (name.Length > MaxLength) return $"Organization name must be at most {MaxLength} characters";
        if (!Allowed().IsMatch(name)) return "Organization name can only contain letters, numbers, spaces, hyphens, underscores and periods";
        // [our choice] a name of only punctuation would give an empty slug and an org nobody can address by slug.
        if (BaseSlug(name).Length == 0) return "Organization name must contain at least one letter or number";
        return null;
    }

    /// <summary>Lower-case, drop everything but [a-z0-9 -], spaces to '-', collapse runs of '-', trim edge '-'.</summary>
    public static string BaseSlug(string name)
    {
        var kept = new StringBuilder(name.Length);
        foreach (var c in name.Trim().ToLowerInvariant())
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') kept.Append(c);
            else if (c == ' ') kept.Append('-');
        return Dashes().Replace(kept.ToString(), "-").Trim('-');
    }

    /// <summary>
    /// Slugs the dashboard uses for pages of its own under /orgs/ (an org slugged "new" would be hidden behind the
    /// creation page at /orgs/new): an org named so gets base-1, as if the slug were taken.
    /// </summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.Ordinal) { "new" };

    /// <summary>The base slug, or base-1, base-2, … : the first candidate neither in <paramref name="taken"/> nor reserved.</summary>
    public static string FirstFree(string baseSlug, IReadOnlySet<string> taken)
    {
        bool Free(string slug) => !taken.Contains(slug) && !Reserved.Contains(slug);
        if (Free(baseSlug)) return baseSlug;
        for (var i = 1; ; i++)
            if (Free($"{baseSlug}-{i}")) return $"{baseSlug}-{i}";
    }

    [GeneratedRegex(@"^[\p{L}\p{N} _.\-]+$")]
    private static partial Regex Allowed();

    [GeneratedRegex("-{2,}")]
    private static partial Regex Dashes();
}
