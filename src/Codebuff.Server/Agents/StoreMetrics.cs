using System.Text.Json.Serialization;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Codebuff.Server.Agents;

/// <summary>
/// GET /api/agents/metrics: usage per store agent, keyed "publisherId/agentName", for the store page that renders
/// basic info first and loads metrics afterwards (clients.md §1.7). Spend is in dollars (100 credits = $1) as upstream.
/// </summary>
public static class StoreMetrics
{
    /// <summary>Completed runs per published agent, all-time and over the last week (@week); the store listing joins it too.</summary>
    internal const string UsageSql = """
        SELECT r.publisher_id AS "PublisherId", r.agent_name AS "AgentName",
               COUNT(*)::int AS "Runs", COALESCE(SUM(r.total_credits), 0) AS "Credits",
               (COUNT(*) FILTER (WHERE r.created_at >= @week))::int AS "WeeklyRuns",
               COALESCE(SUM(r.total_credits) FILTER (WHERE r.created_at >= @week), 0) AS "WeeklyCredits",
               COUNT(DISTINCT r.user_id)::int AS "UniqueUsers", MAX(r.created_at) AS "LastUsed"
        FROM agent_run r
        WHERE r.status = 'completed' AND r.publisher_id IS NOT NULL
        GROUP BY r.publisher_id, r.agent_name
        """;

    public sealed record AgentMetrics(
        [property: JsonPropertyName("usage_count")] int UsageCount,
        [property: JsonPropertyName("weekly_runs")] int WeeklyRuns,
        [property: JsonPropertyName("weekly_spent")] decimal WeeklySpent,
        [property: JsonPropertyName("total_spent")] decimal TotalSpent,
        [property: JsonPropertyName("avg_cost_per_invocation")] decimal AvgCostPerInvocation,
        [property: JsonPropertyName("unique_users")] int UniqueUsers,
        [property: JsonPropertyName("last_used")] DateTime? LastUsed);

    /// <summary>The usage columns of <see cref="UsageSql"/>.</summary>
    public class Usage
    {
        public int Runs { get; init; }
        public decimal Credits { get; init; }
        public int WeeklyRuns { get; init; }
        public decimal WeeklyCredits { get; init; }
        public int UniqueUsers { get; init; }
        public DateTime? LastUsed { get; init; }
    }

    public sealed class Row : Usage
    {
        public required string PublisherId { get; init; }
        public required string AgentName { get; init; }
    }

    public static async Task<IResult> GetAsync(AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var rows = await db.Database.SqlQueryRaw<Row>(UsageSql, new NpgsqlParameter("week", clock.GetUtcNow().UtcDateTime.AddDays(-7))).ToListAsync(ct);
        return Results.Json(rows.ToDictionary(r => $"{r.PublisherId}/{r.AgentName}", r => new AgentMetrics(
            r.Runs, r.WeeklyRuns, Money.Dollars(r.WeeklyCredits), Money.Dollars(r.Credits),
            r.Runs == 0 ? 0 : Money.Dollars(r.Credits / r.Runs), r.UniqueUsers, r.LastUsed)));
    }
}
