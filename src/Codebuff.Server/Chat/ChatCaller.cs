using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace Codebuff.Server.Chat;

/// <summary>
/// Everything the gates of api.md §2.5.3 need, read in ONE round trip: the token's user (banned?), the run (agent,
/// status) and the user's credit balance. Hand-written because it runs on every proxied call, where each extra round
/// trip is most of the proxy's overhead (bench/README.md).
/// </summary>
public sealed record ChatCaller(string UserId, bool Banned, DateTime? NextQuotaReset, string? RunAgentId, AgentRunStatus? RunStatus, int Positive, int Debt)
{
    /// <summary>Remaining credits as the balance reports them: debt is settled against positive grants first.</summary>
    public int TotalRemaining => Positive - Math.Min(Positive, Debt);

    const string Sql = """
        SELECT u.id, u.banned, u.next_quota_reset, r.agent_id, r.status::text,
               coalesce(b.positive, 0)::int, coalesce(b.debt, 0)::int
        FROM session s
        JOIN "user" u ON u.id = s."userId"
        LEFT JOIN agent_run r ON r.id = @run AND r.user_id = u.id
        LEFT JOIN LATERAL (
            SELECT sum(g.balance) FILTER (WHERE g.balance > 0) AS positive, sum(-g.balance) FILTER (WHERE g.balance < 0) AS debt
            FROM credit_ledger g
            WHERE g.user_id = u.id AND g.org_id IS NULL AND (g.expires_at IS NULL OR g.expires_at > @now)) b ON true
        WHERE s."sessionToken" = @token AND s.expires > @now_plain
        """;

    /// <summary>The caller of an unexpired session with this token hash, or null.</summary>
    public static async Task<ChatCaller?> FindAsync(AppDbContext db, string tokenHash, string? runId, DateTime now, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = new NpgsqlCommand(Sql, conn);
            cmd.Parameters.Add(new NpgsqlParameter<string>("token", NpgsqlDbType.Text) { TypedValue = tokenHash });
            cmd.Parameters.Add(new NpgsqlParameter("run", NpgsqlDbType.Text) { Value = (object?)runId ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc) });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime>("now_plain", NpgsqlDbType.Timestamp) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Unspecified) });
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (!await r.ReadAsync(ct)) return null;
            return new ChatCaller(r.GetString(0), r.GetBoolean(1),
                r.IsDBNull(2) ? null : DateTime.SpecifyKind(r.GetDateTime(2), DateTimeKind.Utc),
                r.IsDBNull(3) ? null : r.GetString(3),
                r.IsDBNull(4) ? null : Enum.Parse<AgentRunStatus>(r.GetString(4), ignoreCase: true),
                r.GetInt32(5), r.GetInt32(6));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
