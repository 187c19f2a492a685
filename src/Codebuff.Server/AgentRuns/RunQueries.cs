using System.Text.Json.Serialization;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.AgentRuns;

/// <summary>
/// A user's agent runs, newest first, keyset-paginated on (created_at, id) over idx_agent_run_user_id, and one run's
/// trace tree (its root's runs over idx_agent_run_root, their steps over idx_agent_step_run_id). Live rows, no rollup.
/// The dashboard pages call these; AgentRunReadEndpoints answers them as JSON.
/// </summary>
public static class RunQueries
{
    public sealed class RunRow
    {
        public required string Id { get; init; }
        [JsonPropertyName("agent_id")] public required string AgentId { get; init; }
        [JsonPropertyName("parent_run_id")] public string? ParentRunId { get; init; }
        [JsonPropertyName("root_run_id")] public string? RootRunId { get; init; }
        public int? Depth { get; init; }
        public required string Status { get; init; }
        [JsonPropertyName("total_steps")] public int? TotalSteps { get; init; }
        [JsonPropertyName("total_credits")] public decimal? TotalCredits { get; init; }
        [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
        [JsonPropertyName("completed_at")] public DateTime? CompletedAt { get; init; }
        [JsonPropertyName("duration_ms")] public int? DurationMs { get; init; }
    }

    public sealed class StepRow
    {
        [JsonPropertyName("run_id")] public required string AgentRunId { get; init; }
        [JsonPropertyName("step_number")] public int StepNumber { get; init; }
        public decimal Credits { get; init; }
        public required string Status { get; init; }
        [JsonPropertyName("message_id")] public string? MessageId { get; init; }
        [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
    }

    public sealed record Page(IReadOnlyList<RunRow> Runs, [property: JsonPropertyName("next_cursor")] string? NextCursor);
    public sealed record Trace([property: JsonPropertyName("root_run_id")] string RootRunId, IReadOnlyList<RunRow> Runs, IReadOnlyList<StepRow> Steps);

    const string Columns = """
        id AS "Id", agent_id AS "AgentId", parent_run_id AS "ParentRunId", root_run_id AS "RootRunId", depth AS "Depth",
        status::text AS "Status", total_steps AS "TotalSteps", total_credits AS "TotalCredits", created_at AS "CreatedAt",
        completed_at AS "CompletedAt", duration_ms AS "DurationMs"
        """;

    /// <summary>One page of the user's runs older than the cursor ("ticks:id" of the last run of the previous page).</summary>
    public static async Task<Page> UserRunsAsync(AppDbContext db, string userId, string? cursor, int limit, CancellationToken ct)
    {
        var (at, id) = ParseCursor(cursor);
        var rows = await db.Database.SqlQueryRaw<RunRow>($"""
            SELECT {Columns} FROM agent_run
            WHERE user_id = @u AND (@at::timestamptz IS NULL OR (created_at, id) < (@at, @id))
            ORDER BY created_at DESC, id DESC LIMIT @n
            """,
            new Npgsql.NpgsqlParameter("u", userId),
            new Npgsql.NpgsqlParameter("at", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)at ?? DBNull.Value },
            new Npgsql.NpgsqlParameter("id", NpgsqlTypes.NpgsqlDbType.Text) { Value = id ?? "" },
            new Npgsql.NpgsqlParameter("n", limit + 1)).ToListAsync(ct);
        var more = rows.Count > limit;
        if (more) rows.RemoveAt(limit);
        return new Page(rows, more ? $"{rows[^1].CreatedAt.Ticks}:{rows[^1].Id}" : null);
    }

    /// <returns>false when the cursor is malformed.</returns>
    public static bool IsCursor(string? cursor) => cursor is null || ParseCursor(cursor).At is not null;

    static (DateTime? At, string? Id) ParseCursor(string? cursor)
    {
        var colon = cursor?.IndexOf(':') ?? -1;
        return colon > 0 && long.TryParse(cursor![..colon], out var ticks) && ticks >= 0 && ticks <= DateTime.MaxValue.Ticks
            ? (new DateTime(ticks, DateTimeKind.Utc), cursor[(colon + 1)..]) : (null, null);
    }

    /// <summary>The whole tree the run belongs to, if the run is the user's; null otherwise.</summary>
    public static async Task<Trace?> TraceAsync(AppDbContext db, string userId, string runId, CancellationToken ct)
    {
        var root = await db.AgentRuns.AsNoTracking().Where(r => r.Id == runId && r.UserId == userId).Select(r => r.RootRunId).FirstOrDefaultAsync(ct);
        if (root is null) return null;
        var runs = await db.Database.SqlQueryRaw<RunRow>($"""
            SELECT {Columns} FROM agent_run WHERE root_run_id = @root AND user_id = @u ORDER BY depth, created_at, id
            """, new Npgsql.NpgsqlParameter("root", root), new Npgsql.NpgsqlParameter("u", userId)).ToListAsync(ct);
        var ids = runs.Select(r => r.Id).ToArray();
        var steps = await db.Database.SqlQueryRaw<StepRow>("""
            SELECT agent_run_id AS "AgentRunId", step_number AS "StepNumber", credits AS "Credits", status::text AS "Status",
                   message_id AS "MessageId", created_at AS "CreatedAt"
            FROM agent_step WHERE agent_run_id = ANY(@ids) ORDER BY agent_run_id, step_number
            """, new Npgsql.NpgsqlParameter("ids", ids)).ToListAsync(ct);
        return new Trace(root, runs, steps);
    }
}
