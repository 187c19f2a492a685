namespace Codebuff.Server.AgentRuns;

/// <summary>
/// A user's agent runs, newest first, keyset-paginated on (created_at, id) over idx_agent_run_user_id, and one run's
/// trace tree (its root's runs over idx_agent_run_root, their steps over idx_agent_step_run_id, the steps' billed LLM
/// calls by message id). Live rows, no rollup.
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
        [JsonPropertyName("error_message")] public string? ErrorMessage { get; init; }
        /// <summary>The last user message of the run's first traced call, while its trace is kept.</summary>
        public string? Prompt { get; init; }
        /// <summary>The repo_url, else the CLI's project folder name, the run's first traced call was sent with.</summary>
        public string? Project { get; init; }
    }

    public sealed class StepRow
    {
        [JsonPropertyName("run_id")] public required string AgentRunId { get; init; }
        [JsonPropertyName("step_number")] public int StepNumber { get; init; }
        public decimal Credits { get; init; }
        public required string Status { get; init; }
        [JsonPropertyName("message_id")] public string? MessageId { get; init; }
        [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
        [JsonPropertyName("duration_ms")] public int? DurationMs { get; init; }
        [JsonPropertyName("child_run_ids")] public string[]? ChildRunIds { get; init; }
        [JsonPropertyName("error_message")] public string? ErrorMessage { get; init; }
    }

    /// <summary>A step's billed LLM call (the message row): request and response are JSON text.</summary>
    public sealed class MessageRow
    {
        public required string Id { get; init; }
        public required string Model { get; init; }
        [JsonPropertyName("client_id")] public string? ClientId { get; init; }
        [JsonPropertyName("client_request_id")] public string? ClientRequestId { get; init; }
        [JsonPropertyName("finished_at")] public DateTime FinishedAt { get; init; }
        [JsonPropertyName("latency_ms")] public int? LatencyMs { get; init; }
        [JsonPropertyName("input_tokens")] public int InputTokens { get; init; }
        [JsonPropertyName("cache_read_input_tokens")] public int CacheReadInputTokens { get; init; }
        [JsonPropertyName("output_tokens")] public int OutputTokens { get; init; }
        [JsonPropertyName("reasoning_tokens")] public int? ReasoningTokens { get; init; }
        public int Credits { get; init; }
        public bool Byok { get; init; }
        public string? Request { get; init; }
        public required string Response { get; init; }
        [JsonPropertyName("reasoning_text")] public string? ReasoningText { get; init; }
    }

    /// <summary>A step's stored trace content (service.trace_step), by the message id its step names.</summary>
    public sealed class StepContentRow
    {
        [JsonPropertyName("message_id")] public required string MessageId { get; init; }
        [JsonPropertyName("system_prompt")] public string? SystemPrompt { get; init; }
        /// <summary>JSON text: the messages new in the call's request, [{role, content, tool_call_id}].</summary>
        public required string Messages { get; init; }
        /// <summary>JSON text: the answer's tool calls, [{id, name, arguments}].</summary>
        [JsonPropertyName("tool_calls")] public required string ToolCalls { get; init; }
        public bool Truncated { get; init; }
    }

    public sealed record Page(IReadOnlyList<RunRow> Runs, [property: JsonPropertyName("next_cursor")] string? NextCursor);
    public sealed record Trace([property: JsonPropertyName("root_run_id")] string RootRunId,
        [property: JsonPropertyName("user_id")] string UserId, IReadOnlyList<RunRow> Runs, IReadOnlyList<StepRow> Steps, IReadOnlyList<MessageRow> Messages,
        [property: JsonPropertyName("step_contents")] IReadOnlyList<StepContentRow> StepContents);

    /// <summary>/runs filters: an agent id, a status (agent_run_status), a day (UTC); null matches all.</summary>
    public sealed record RunFilter(string? AgentId = null, AgentRunStatus? Status = null, DateOnly? Day = null);

    // The run's prompt and project come from its first traced call (trace_step_run_id).
    const string Columns = """
        r.id AS "Id", r.agent_id AS "AgentId", r.parent_run_id AS "ParentRunId", r.root_run_id AS "RootRunId", r.depth AS "Depth",
        r.status::text AS "Status", r.total_steps AS "TotalSteps", r.total_credits AS "TotalCredits", r.created_at AS "CreatedAt",
        r.completed_at AS "CompletedAt", r.duration_ms AS "DurationMs", r.error_message AS "ErrorMessage", t.prompt AS "Prompt", t.project AS "Project"
        """;

    const string FirstTrace = """
        LEFT JOIN LATERAL (SELECT prompt, project FROM service.trace_step s WHERE s.run_id = r.id AND s.user_id = r.user_id
                           ORDER BY s.created_at LIMIT 1) t ON true
        """;

    /// <summary>One page of the user's runs older than the cursor ("ticks:id" of the last run of the previous page).</summary>
    public static async Task<Page> UserRunsAsync(AppDbContext db, string userId, string? cursor, int limit, CancellationToken ct, RunFilter? filter = null)
    {
        var (at, id) = ParseCursor(cursor);
        var from = filter?.Day is { } day ? new DateTime(day, TimeOnly.MinValue, DateTimeKind.Utc) : (DateTime?)null;
        var rows = await db.Database.SqlQueryRaw<RunRow>($"""
            SELECT {Columns} FROM agent_run r {FirstTrace}
            WHERE r.user_id = @u AND (@at::timestamptz IS NULL OR (r.created_at, r.id) < (@at, @id))
              AND (@agent::text IS NULL OR r.agent_id = @agent) AND (@status::text IS NULL OR r.status::text = @status)
              AND (@from::timestamptz IS NULL OR (r.created_at >= @from AND r.created_at < @from + interval '1 day'))
            ORDER BY r.created_at DESC, r.id DESC LIMIT @n
            """,
            new NpgsqlParameter("u", userId),
            new NpgsqlParameter("at", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)at ?? DBNull.Value },
            new NpgsqlParameter("id", NpgsqlTypes.NpgsqlDbType.Text) { Value = id ?? "" },
            new NpgsqlParameter("agent", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)filter?.AgentId ?? DBNull.Value },
            new NpgsqlParameter("status", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)filter?.Status?.ToString().ToLowerInvariant() ?? DBNull.Value },
            new NpgsqlParameter("from", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)from ?? DBNull.Value },
            new NpgsqlParameter("n", limit + 1)).ToListAsync(ct);
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

    /// <summary>
    /// The whole tree the run belongs to, if the run is <paramref name="userId"/>'s (null: anyone's, for site admins);
    /// null otherwise. A step names its message by id as the client reported it, so only the run owner's messages are read.
    /// </summary>
    public static async Task<Trace?> TraceAsync(AppDbContext db, string? userId, string runId, CancellationToken ct)
    {
        var run = await db.AgentRuns.AsNoTracking().Where(r => r.Id == runId && (userId == null || r.UserId == userId))
            .Select(r => new { r.RootRunId, r.UserId }).FirstOrDefaultAsync(ct);
        if (run is not { RootRunId: { } root, UserId: { } owner }) return null;
        var runs = await db.Database.SqlQueryRaw<RunRow>($"""
            SELECT {Columns} FROM agent_run r {FirstTrace} WHERE r.root_run_id = @root AND r.user_id = @u ORDER BY r.depth, r.created_at, r.id
            """, new NpgsqlParameter("root", root), new NpgsqlParameter("u", owner)).ToListAsync(ct);
        var ids = runs.Select(r => r.Id).ToArray();
        var steps = await db.Database.SqlQueryRaw<StepRow>("""
            SELECT agent_run_id AS "AgentRunId", step_number AS "StepNumber", credits AS "Credits", status::text AS "Status",
                   message_id AS "MessageId", created_at AS "CreatedAt", duration_ms AS "DurationMs", child_run_ids AS "ChildRunIds",
                   error_message AS "ErrorMessage"
            FROM agent_step WHERE agent_run_id = ANY(@ids) ORDER BY agent_run_id, step_number
            """, new NpgsqlParameter("ids", ids)).ToListAsync(ct);
        var messageIds = steps.Select(s => s.MessageId).OfType<string>().Distinct().ToArray();
        var messages = messageIds.Length == 0 ? [] : await db.Database.SqlQueryRaw<MessageRow>("""
            SELECT id AS "Id", model AS "Model", client_id AS "ClientId", client_request_id AS "ClientRequestId", finished_at AS "FinishedAt",
                   latency_ms AS "LatencyMs", input_tokens AS "InputTokens", cache_read_input_tokens AS "CacheReadInputTokens",
                   output_tokens AS "OutputTokens", reasoning_tokens AS "ReasoningTokens", credits AS "Credits", byok AS "Byok",
                   request::text AS "Request", response::text AS "Response", reasoning_text AS "ReasoningText"
            FROM message WHERE id = ANY(@ids) AND user_id = @u ORDER BY finished_at, id
            """, new NpgsqlParameter("ids", messageIds), new NpgsqlParameter("u", owner)).ToListAsync(ct);
        var contents = messageIds.Length == 0 ? [] : await db.Database.SqlQueryRaw<StepContentRow>("""
            SELECT DISTINCT ON (message_id) message_id AS "MessageId", system_prompt AS "SystemPrompt", messages::text AS "Messages",
                   tool_calls::text AS "ToolCalls", truncated AS "Truncated"
            FROM service.trace_step WHERE message_id = ANY(@ids) AND user_id = @u ORDER BY message_id, created_at
            """, new NpgsqlParameter("ids", messageIds), new NpgsqlParameter("u", owner)).ToListAsync(ct);
        return new Trace(root, owner, runs, steps, messages, contents);
    }
}
