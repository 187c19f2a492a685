using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace Codebuff.Server.Chat;

/// <summary>
/// What the gates of api.md §2.5.3 need beyond the caller, read in ONE round trip: the run (agent, status) and the
/// user's credit balance. Hand-written because it runs on every proxied call, where each round trip is most of the
/// proxy's overhead (bench/README.md).
/// </summary>
public sealed record ChatGate(string? RunAgentId, AgentRunStatus? RunStatus, int Positive, int Debt)
{
    /// <summary>Remaining credits as the balance reports them: debt is settled against positive grants first.</summary>
    public int TotalRemaining => Positive - Math.Min(Positive, Debt);

    const string Sql = """
        SELECT r.agent_id, r.status::text, coalesce(b.positive, 0)::int, coalesce(b.debt, 0)::int
        FROM (SELECT sum(g.balance) FILTER (WHERE g.balance > 0) AS positive, sum(-g.balance) FILTER (WHERE g.balance < 0) AS debt
              FROM credit_ledger g
              WHERE g.user_id = @user AND g.org_id IS NULL AND (g.expires_at IS NULL OR g.expires_at > @now)) b
        LEFT JOIN agent_run r ON r.id = @run AND r.user_id = @user
        """;

    public static async Task<ChatGate> ReadAsync(AppDbContext db, string userId, string runId, DateTime now, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = new NpgsqlCommand(Sql, conn);
            cmd.Parameters.Add(new NpgsqlParameter<string>("user", NpgsqlDbType.Text) { TypedValue = userId });
            cmd.Parameters.Add(new NpgsqlParameter<string>("run", NpgsqlDbType.Text) { TypedValue = runId });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc) });
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            return new ChatGate(r.IsDBNull(0) ? null : r.GetString(0),
                r.IsDBNull(1) ? null : Enum.Parse<AgentRunStatus>(r.GetString(1), ignoreCase: true), r.GetInt32(2), r.GetInt32(3));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
