using System.Globalization;

namespace Codebuff.Server.Agents;

/// <summary>A strict major.minor.patch version, ordered the way the generated agent_config columns order rows.</summary>
public readonly record struct AgentVersion(int Major, int Minor, int Patch) : IComparable<AgentVersion>
{
    public static readonly AgentVersion Zero = new(0, 0, 0);

    /// <summary>^\d+\.\d+\.\d+$ with ASCII digits only; each part must fit the database's integer columns.</summary>
    public static bool TryParse(string? text, out AgentVersion version)
    {
        version = default;
        var parts = text?.Split('.');
        if (parts is not { Length: 3 } || parts.Any(p => p.Length == 0 || !p.All(char.IsAsciiDigit))) return false;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var patch)) return false;
        version = new(major, minor, patch);
        return true;
    }

    public int CompareTo(AgentVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major) : Minor != other.Minor ? Minor.CompareTo(other.Minor) : Patch.CompareTo(other.Patch);

    public override string ToString() => $"{Major}.{Minor}.{Patch}";

    /// <summary>
    /// The version a publish gets (api.md §4.6 step 8): none given → latest patch + 1 (0.0.1 first);
    /// given → must parse and be strictly greater than the latest.
    /// </summary>
    public static (AgentVersion Version, string? Error) Next(AgentVersion? latest, string? provided)
    {
        var current = latest ?? Zero;
        if (string.IsNullOrEmpty(provided))
            return current.Patch == int.MaxValue
                ? (default, $"Cannot increment version {current}: the patch number is at its maximum")
                : (current with { Patch = current.Patch + 1 }, null);
        if (!TryParse(provided, out var version))
            return (default, $"Invalid version format: {provided}. Must be in semver format (e.g., 1.0.0)");
        if (version.CompareTo(current) <= 0)
            return (default, $"Provided version {provided} must be greater than the latest version ({current})");
        return (version, null);
    }

    /// <summary>A stored row's version, from its generated columns.</summary>
    public static AgentVersion Of(AgentConfig row) => new(row.Major ?? 0, row.Minor ?? 0, row.Patch ?? 0);

    /// <summary>
    /// The one ordering behind "latest": newest version first, by the generated major/minor/patch columns (numbers, so
    /// 1.10.0 comes before 1.9.0), as <see cref="CompareTo"/> orders versions in memory.
    /// </summary>
    public static IOrderedQueryable<AgentConfig> NewestFirst(IQueryable<AgentConfig> rows) =>
        rows.OrderByDescending(a => a.Major).ThenByDescending(a => a.Minor).ThenByDescending(a => a.Patch);

    /// <summary><see cref="NewestFirst(IQueryable{AgentConfig})"/> within an ordering already begun (e.g. per agent id).</summary>
    public static IOrderedQueryable<AgentConfig> ThenNewestFirst(IOrderedQueryable<AgentConfig> rows) =>
        rows.ThenByDescending(a => a.Major).ThenByDescending(a => a.Minor).ThenByDescending(a => a.Patch);

    /// <summary>The same ordering in SQL text over agent_config's columns (unqualified: no joined table has them).</summary>
    public const string NewestFirstSql = "major DESC, minor DESC, patch DESC";

    /// <summary>Highest published version of an agent.</summary>
    public static async Task<AgentConfig?> LatestRowAsync(AppDbContext db, string publisherId, string agentId, CancellationToken ct) =>
        await NewestFirst(db.AgentConfigs.AsNoTracking().Where(a => a.PublisherId == publisherId && a.Id == agentId))
            .FirstOrDefaultAsync(ct);

    public static async Task<AgentVersion?> LatestAsync(AppDbContext db, string publisherId, string agentId, CancellationToken ct) =>
        await LatestRowAsync(db, publisherId, agentId, ct) is { } row ? Of(row) : null;
}
