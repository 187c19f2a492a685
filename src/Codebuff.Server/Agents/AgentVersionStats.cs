namespace Codebuff.Server.Agents;

/// <summary>
/// An agent version's statistics from rollup.agent_day (exact: written by FINISH in the run's own statement):
/// completed runs and credits all-time and per UTC day (by the day the run started), plus the last use; and the distinct
/// users of its completed runs (agent_run over idx_agent_run_completed_version: no rollup keeps users per version). The dashboard
/// pages call <see cref="ForVersionAsync"/>; GET /api/agents/{publisherId}/{agentId}/{version}/stats answers it as JSON.
/// </summary>
public static class AgentVersionStats
{
    public sealed record Day(DateOnly Date, long Runs, decimal Credits);

    public sealed record Stats(
        [property: JsonPropertyName("publisher_id")] string PublisherId,
        [property: JsonPropertyName("agent_id")] string AgentId,
        string Version, long Runs, decimal Credits,
        [property: JsonPropertyName("unique_users")] int UniqueUsers,
        [property: JsonPropertyName("last_used")] DateTime? LastUsed,
        IReadOnlyList<Day> Days);

    /// <summary>Per version, all-time: completed runs and credits (the version list of an agent).</summary>
    public static Task<Dictionary<string, (long Runs, decimal Credits)>> PerVersionAsync(AppDbContext db, string publisherId, string agentId, CancellationToken ct) =>
        db.Database.SqlQuery<VersionRow>($"""
            SELECT agent_version AS "Version", sum(runs)::bigint AS "Runs", sum(credits) AS "Credits"
            FROM rollup.agent_day WHERE publisher_id = {publisherId} AND agent_name = {agentId}
            GROUP BY agent_version
            """).ToDictionaryAsync(r => r.Version, r => (r.Runs, Money.Plain(r.Credits)), ct);

    /// <summary>One version's totals and its days from <paramref name="since"/> on (days without runs are left out).</summary>
    public static async Task<Stats> ForVersionAsync(AppDbContext db, string publisherId, string agentId, string version, DateOnly since, CancellationToken ct)
    {
        var rows = await db.Database.SqlQuery<DayRow>($"""
            SELECT day AS "Date", runs AS "Runs", credits AS "Credits", last_used AS "LastUsed"
            FROM rollup.agent_day WHERE publisher_id = {publisherId} AND agent_name = {agentId} AND agent_version = {version}
            ORDER BY day
            """).ToListAsync(ct);
        var users = rows.Count == 0 ? 0 : await db.Database.SqlQuery<int>($"""
            SELECT count(DISTINCT user_id)::int AS "Value" FROM agent_run
            WHERE status = 'completed' AND publisher_id = {publisherId} AND agent_name = {agentId} AND agent_version = {version}
            """).SingleAsync(ct);
        return new Stats(publisherId, agentId, version, rows.Sum(r => r.Runs), Money.Plain(rows.Sum(r => r.Credits)), users,
            rows.Count == 0 ? null : rows.Max(r => r.LastUsed),
            rows.Where(r => r.Date >= since).Select(r => new Day(r.Date, r.Runs, Money.Plain(r.Credits))).ToList());
    }

    sealed class VersionRow
    {
        public required string Version { get; init; }
        public long Runs { get; init; }
        public decimal Credits { get; init; }
    }

    sealed class DayRow
    {
        public DateOnly Date { get; init; }
        public long Runs { get; init; }
        public decimal Credits { get; init; }
        public DateTime LastUsed { get; init; }
    }
}
