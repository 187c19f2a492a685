namespace Codebuff.Server.AgentRuns;

/// <summary>
/// FINISH as one statement: the conditional UPDATE (only the caller's own run, only while it is running, so a run
/// completes once even when two FINISH calls race) and, for a completed run of a published agent, the store's rollups
/// (rollup.agent_day, rollup.agent_user; migration ReadRollups) in the same transaction, so they are never behind.
/// Rows are upserted one per statement in key order, so two FINISHes of one agent queue on its day row, never deadlock.
/// </summary>
static class RunFinish
{
    const string Sql = """
        WITH done AS (
            UPDATE agent_run SET
                status = @status::agent_run_status,
                completed_at = CASE WHEN created_at < @latest THEN created_at + @max_duration ELSE @now END,
                total_steps = @steps, direct_credits = @direct, total_credits = @total,
                error_message = coalesce(@error, error_message)
            WHERE id = @id AND user_id = @user AND status = 'running'
            RETURNING publisher_id, agent_name, agent_version, user_id, created_at, total_credits, status
        ),
        store AS (
            SELECT * FROM done WHERE status = 'completed' AND publisher_id IS NOT NULL
        ),
        day AS (
            INSERT INTO rollup.agent_day AS d (publisher_id, agent_name, agent_version, day, runs, credits, last_used)
            SELECT publisher_id, agent_name, agent_version, (created_at AT TIME ZONE 'UTC')::date, 1, coalesce(total_credits, 0), created_at FROM store
            ON CONFLICT (publisher_id, agent_name, agent_version, day) DO UPDATE SET
                runs = d.runs + 1, credits = d.credits + excluded.credits, last_used = greatest(d.last_used, excluded.last_used)
        ),
        users AS (
            INSERT INTO rollup.agent_user (publisher_id, agent_name, user_id)
            SELECT publisher_id, agent_name, user_id FROM store
            ON CONFLICT DO NOTHING
        )
        SELECT count(*)::int AS "Value" FROM done
        """;

    /// <returns>1 when the run was finished by this call, 0 when it was not the caller's running run.</returns>
    public static async Task<int> RunAsync(AppDbContext db, string runId, string userId, AgentRunStatus status, DateTime now, TimeSpan maxDuration,
        int totalSteps, decimal? direct, decimal? total, string? errorMessage, CancellationToken ct) =>
        // ToList, not Single: EF would wrap a composed query in a subquery, where a data-modifying WITH is not allowed.
        (await db.Database.SqlQueryRaw<int>(Sql,
            new NpgsqlParameter("id", runId), new NpgsqlParameter("user", userId),
            new NpgsqlParameter("status", status.ToString().ToLowerInvariant()),
            new NpgsqlParameter("now", DateTime.SpecifyKind(now, DateTimeKind.Utc)),
            new NpgsqlParameter("latest", DateTime.SpecifyKind(now.Add(-maxDuration), DateTimeKind.Utc)),
            new NpgsqlParameter("max_duration", maxDuration),
            new NpgsqlParameter("steps", totalSteps),
            new NpgsqlParameter("direct", NpgsqlTypes.NpgsqlDbType.Numeric) { Value = (object?)direct ?? DBNull.Value },
            new NpgsqlParameter("total", NpgsqlTypes.NpgsqlDbType.Numeric) { Value = (object?)total ?? DBNull.Value },
            new NpgsqlParameter("error", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)errorMessage ?? DBNull.Value })
            .ToListAsync(ct)).Single();
}
