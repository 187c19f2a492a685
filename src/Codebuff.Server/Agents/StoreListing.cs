using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Codebuff.Server.Agents;

/// <summary>
/// GET /api/agents: the store — the latest version of every published agent with its usage from completed agent runs.
/// Query: search (agent id, display name, description, publisher id or name), sort (cost = weekly credits, the default as
/// upstream; usage = all-time runs; unique_users; recent|newest; name), limit (1–500, default 100), offset.
/// </summary>
public static class StoreListing
{
    static readonly Dictionary<string, string> Orders = new(StringComparer.Ordinal)
    {
        ["cost"] = "\"WeeklyCredits\" DESC, \"Runs\" DESC",
        ["usage"] = "\"Runs\" DESC, \"WeeklyRuns\" DESC",
        ["unique_users"] = "\"UniqueUsers\" DESC, \"Runs\" DESC",
        ["recent"] = "l.created_at DESC",
        ["newest"] = "l.created_at DESC",
        ["name"] = "l.id ASC",
    };

    // The usage CTE (StoreMetrics.UsageSql) filters and groups exactly like the partial index
    // idx_agent_run_completed_publisher_agent (publisher_id, agent_name) WHERE status = 'completed'; runs by bare id
    // have no publisher and are not store usage.
    const string Sql = $"""
        WITH latest AS (
            SELECT DISTINCT ON (ac.publisher_id, ac.id) ac.publisher_id, ac.id, ac.version, ac.data, ac.created_at
            FROM agent_config ac
            ORDER BY ac.publisher_id, ac.id, ac.major DESC, ac.minor DESC, ac.patch DESC
        ), usage AS ({StoreMetrics.UsageSql})
        SELECT l.id AS "Id", l.version AS "Version", l.data::text AS "Data", l.created_at AS "CreatedAt",
               p.id AS "PublisherId", p.name AS "PublisherName", p.verified AS "Verified", p.avatar_url AS "AvatarUrl",
               COALESCE(u."Runs", 0) AS "Runs", COALESCE(u."Credits", 0) AS "Credits",
               COALESCE(u."WeeklyRuns", 0) AS "WeeklyRuns", COALESCE(u."WeeklyCredits", 0) AS "WeeklyCredits",
               COALESCE(u."UniqueUsers", 0) AS "UniqueUsers", u."LastUsed" AS "LastUsed"
        FROM latest l
        JOIN publisher p ON p.id = l.publisher_id
        LEFT JOIN usage u ON u."PublisherId" = l.publisher_id AND u."AgentName" = l.id
        WHERE @pattern = '' OR l.id ILIKE @pattern OR l.data->>'displayName' ILIKE @pattern
              OR l.data->>'description' ILIKE @pattern OR l.data->>'spawnerPrompt' ILIKE @pattern
              OR p.id ILIKE @pattern OR p.name ILIKE @pattern
        """;

    public sealed record StorePublisher(string Id, string Name, bool Verified, [property: JsonPropertyName("avatar_url")] string? AvatarUrl);

    /// <summary>One store entry: spend in dollars (100 credits = $1) as upstream, credits as plain numbers.</summary>
    public sealed record StoreAgent(
        string Id, string Name, string? DisplayName, string? Description, StorePublisher Publisher, string Version,
        [property: JsonPropertyName("created_at")] DateTime CreatedAt,
        [property: JsonPropertyName("usage_count")] int UsageCount,
        [property: JsonPropertyName("weekly_runs")] int WeeklyRuns,
        [property: JsonPropertyName("weekly_spent")] decimal WeeklySpent,
        [property: JsonPropertyName("total_spent")] decimal TotalSpent,
        [property: JsonPropertyName("avg_cost_per_invocation")] decimal AvgCostPerInvocation,
        [property: JsonPropertyName("total_credits")] decimal TotalCredits,
        [property: JsonPropertyName("weekly_credits")] decimal WeeklyCredits,
        [property: JsonPropertyName("unique_users")] int UniqueUsers,
        [property: JsonPropertyName("last_used")] DateTime? LastUsed,
        JsonArray Tags);

    public sealed class Row : StoreMetrics.Usage
    {
        public required string Id { get; init; }
        public required string Version { get; init; }
        public required string Data { get; init; }
        public DateTime CreatedAt { get; init; }
        public required string PublisherId { get; init; }
        public required string PublisherName { get; init; }
        public bool Verified { get; init; }
        public string? AvatarUrl { get; init; }
    }

    public static async Task<IResult> GetAsync(HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var q = request.Query;
        var sort = q.TryGetValue("sort", out var s) && !string.IsNullOrEmpty(s) ? s.ToString() : "cost";
        if (!Orders.TryGetValue(sort, out var order))
            return Errors.Error(400, $"Invalid sort '{sort}'. Use one of: {string.Join(", ", Orders.Keys)}");
        if (!TryInt(q["limit"], 100, 1, 500, out var limit)) return Errors.Error(400, "limit must be an integer from 1 to 500");
        if (!TryInt(q["offset"], 0, 0, int.MaxValue, out var offset)) return Errors.Error(400, "offset must be a non-negative integer");
        var search = q["search"].ToString().Trim();
        var pattern = search.Length == 0 ? "" : "%" + search.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%";

        // The ORDER BY text comes from the fixed Orders table, never from the request.
        var sql = string.Concat(Sql, " ORDER BY ", order, ", l.publisher_id, l.id LIMIT @limit OFFSET @offset");
        var rows = await db.Database.SqlQueryRaw<Row>(sql,
                new NpgsqlParameter("week", clock.GetUtcNow().UtcDateTime.AddDays(-7)),
                new NpgsqlParameter("pattern", pattern),
                new NpgsqlParameter("limit", limit),
                new NpgsqlParameter("offset", offset))
            .ToListAsync(ct);

        return Results.Json(rows.Select(r =>
        {
            var data = JsonNode.Parse(r.Data) as JsonObject;
            return new StoreAgent(r.Id, (string?)data?["name"] ?? r.Id, (string?)data?["displayName"],
                Description: (string?)data?["description"] ?? (string?)data?["spawnerPrompt"],
                new StorePublisher(r.PublisherId, r.PublisherName, r.Verified, r.AvatarUrl), r.Version, r.CreatedAt,
                UsageCount: r.Runs, r.WeeklyRuns, WeeklySpent: Money.Dollars(r.WeeklyCredits), TotalSpent: Money.Dollars(r.Credits),
                AvgCostPerInvocation: r.Runs == 0 ? 0 : Money.Dollars(r.Credits / r.Runs),
                TotalCredits: Money.Plain(r.Credits), WeeklyCredits: Money.Plain(r.WeeklyCredits), r.UniqueUsers, r.LastUsed,
                Tags: data?["tags"] as JsonArray ?? []);
        }));
    }

    static bool TryInt(string? text, int fallback, int min, int max, out int value)
    {
        value = fallback;
        if (string.IsNullOrEmpty(text)) return true;
        return int.TryParse(text, out value) && value >= min && value <= max;
    }
}
