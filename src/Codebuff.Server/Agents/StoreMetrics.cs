namespace Codebuff.Server.Agents;

/// <summary>
/// GET /api/agents/metrics: usage per store agent, keyed "publisherId/agentName", for the store page that renders
/// basic info first and loads metrics afterwards (clients.md §1.7). Spend is in dollars (100 credits = $1) as upstream.
/// Served from memory by <see cref="StoreSnapshot"/>.
/// </summary>
public static class StoreMetrics
{
    /// <summary>An agent's usage figures; a store entry (<see cref="StoreListing.StoreAgent"/>) carries the same.</summary>
    public record AgentMetrics(
        [property: JsonPropertyName("usage_count")] int UsageCount,
        [property: JsonPropertyName("weekly_runs")] int WeeklyRuns,
        [property: JsonPropertyName("weekly_spent")] decimal WeeklySpent,
        [property: JsonPropertyName("total_spent")] decimal TotalSpent,
        [property: JsonPropertyName("avg_cost_per_invocation")] decimal AvgCostPerInvocation,
        [property: JsonPropertyName("unique_users")] int UniqueUsers,
        [property: JsonPropertyName("last_used")] DateTime? LastUsed);

    public static async Task<Ok<IReadOnlyDictionary<string, AgentMetrics>>> GetAsync(StoreSnapshot store, CancellationToken ct) => TypedResults.Ok((await store.GetAsync(ct)).Metrics);
}
