using System.Text.Json.Nodes;
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

    // The usage CTE filters and groups exactly like the partial index idx_agent_run_completed_publisher_agent
    // (publisher_id, agent_name) WHERE status = 'completed'; runs by bare id have no publisher and are not store usage.
    const string Sql = """
        WITH latest AS (
            SELECT DISTINCT ON (ac.publisher_id, ac.id) ac.publisher_id, ac.id, ac.version, ac.data, ac.created_at
            FROM agent_config ac
            ORDER BY ac.publisher_id, ac.id, ac.major DESC, ac.minor DESC, ac.patch DESC
        ), usage AS (
            SELECT r.publisher_id, r.agent_name,
                   COUNT(*)::int AS runs,
                   COALESCE(SUM(r.total_credits), 0) AS credits,
                   (COUNT(*) FILTER (WHERE r.created_at >= @week))::int AS weekly_runs,
                   COALESCE(SUM(r.total_credits) FILTER (WHERE r.created_at >= @week), 0) AS weekly_credits,
                   COUNT(DISTINCT r.user_id)::int AS unique_users,
                   MAX(r.created_at) AS last_used
            FROM agent_run r
            WHERE r.status = 'completed' AND r.publisher_id IS NOT NULL
            GROUP BY r.publisher_id, r.agent_name
        )
        SELECT l.id AS "Id", l.version AS "Version", l.data::text AS "Data", l.created_at AS "CreatedAt",
               p.id AS "PublisherId", p.name AS "PublisherName", p.verified AS "Verified", p.avatar_url AS "AvatarUrl",
               COALESCE(u.runs, 0) AS "Runs", COALESCE(u.credits, 0) AS "Credits",
               COALESCE(u.weekly_runs, 0) AS "WeeklyRuns", COALESCE(u.weekly_credits, 0) AS "WeeklyCredits",
               COALESCE(u.unique_users, 0) AS "UniqueUsers", u.last_used AS "LastUsed"
        FROM latest l
        JOIN publisher p ON p.id = l.publisher_id
        LEFT JOIN usage u ON u.publisher_id = l.publisher_id AND u.agent_name = l.id
        WHERE @pattern = '' OR l.id ILIKE @pattern OR l.data->>'displayName' ILIKE @pattern
              OR l.data->>'description' ILIKE @pattern OR l.data->>'spawnerPrompt' ILIKE @pattern
              OR p.id ILIKE @pattern OR p.name ILIKE @pattern
        """;

    public sealed class Row
    {
        public required string Id { get; init; }
        public required string Version { get; init; }
        public required string Data { get; init; }
        public DateTime CreatedAt { get; init; }
        public required string PublisherId { get; init; }
        public required string PublisherName { get; init; }
        public bool Verified { get; init; }
        public string? AvatarUrl { get; init; }
        public int Runs { get; init; }
        public decimal Credits { get; init; }
        public int WeeklyRuns { get; init; }
        public decimal WeeklyCredits { get; init; }
        public int UniqueUsers { get; init; }
        public DateTime? LastUsed { get; init; }
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
            return new
            {
                id = r.Id,
                name = (string?)data?["name"] ?? r.Id,
                displayName = (string?)data?["displayName"],
                description = (string?)data?["description"] ?? (string?)data?["spawnerPrompt"],
                publisher = new { id = r.PublisherId, name = r.PublisherName, verified = r.Verified, avatar_url = r.AvatarUrl },
                version = r.Version,
                created_at = r.CreatedAt,
                usage_count = r.Runs,
                weekly_runs = r.WeeklyRuns,
                weekly_spent = Money.Dollars(r.WeeklyCredits),
                total_spent = Money.Dollars(r.Credits),
                avg_cost_per_invocation = r.Runs == 0 ? 0 : Money.Dollars(r.Credits / r.Runs),
                total_credits = Money.Plain(r.Credits),
                weekly_credits = Money.Plain(r.WeeklyCredits),
                unique_users = r.UniqueUsers,
                last_used = r.LastUsed,
                tags = data?["tags"] as JsonArray ?? [],
            };
        }));
    }

    static bool TryInt(string? text, int fallback, int min, int max, out int value)
    {
        value = fallback;
        if (string.IsNullOrEmpty(text)) return true;
        return int.TryParse(text, out value) && value >= min && value <= max;
    }
}
