using NpgsqlTypes;

namespace Codebuff.Server.Chat;

/// <summary>
/// What the gates of api.md §2.5.3 need beyond the caller, in ONE round trip: the run (agent, status), the user's
/// credit balance, and a token from the user's shared rate-limit bucket — taken only when the run is running, so a
/// call refused by the run checks costs no token. The user's grants are found through billing.user_grant (migration
/// UserGrantIndex), not by scanning the ledger. Hand-written because it runs on every proxied call, where each round
/// trip is most of the proxy's overhead (bench/README.md).
/// </summary>
public sealed record ChatGate(string? RunAgentId, AgentRunStatus? RunStatus, int Positive, int Debt, bool TokenTaken)
{
    /// <summary>Remaining credits as the balance reports them: debt is settled against positive grants first.</summary>
    public int TotalRemaining => Positive - Math.Min(Positive, Debt);

    internal static readonly string Sql = $"""
        WITH run AS (SELECT agent_id, status FROM agent_run WHERE id = @run AND user_id = @user),
        token AS ({SharedRateLimits.TakeTokenSql("SELECT @bucket_key, now(), @bucket_capacity - 1 FROM run WHERE status = 'running'")})
        SELECT r.agent_id, r.status::text, coalesce(b.positive, 0)::int, coalesce(b.debt, 0)::int, EXISTS (SELECT 1 FROM token)
        FROM (SELECT sum(g.balance) FILTER (WHERE g.balance > 0) AS positive, sum(-g.balance) FILTER (WHERE g.balance < 0) AS debt
              FROM credit_ledger g
              WHERE g.operation_id IN (SELECT operation_id FROM billing.user_grant WHERE user_id = @user)
                AND g.user_id = @user AND g.org_id IS NULL AND (g.expires_at IS NULL OR g.expires_at > @now)) b
        LEFT JOIN run r ON true
        """;

    public static async Task<ChatGate> ReadAsync(AppDbContext db, string userId, string runId, DateTime now, TokenBucket bucket, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = new NpgsqlCommand(Sql, conn);
            cmd.Parameters.Add(new NpgsqlParameter<string>("user", NpgsqlDbType.Text) { TypedValue = userId });
            cmd.Parameters.Add(new NpgsqlParameter<string>("run", NpgsqlDbType.Text) { TypedValue = runId });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc) });
            bucket.AddParameters(cmd.Parameters);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            return new ChatGate(r.IsDBNull(0) ? null : r.GetString(0),
                r.IsDBNull(1) ? null : Enum.Parse<AgentRunStatus>(r.GetString(1), ignoreCase: true), r.GetInt32(2), r.GetInt32(3), r.GetBoolean(4));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
