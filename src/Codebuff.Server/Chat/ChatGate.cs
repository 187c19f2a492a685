using Codebuff.Server.Billing;
using NpgsqlTypes;

namespace Codebuff.Server.Chat;

/// <summary>
/// What the gates of api.md §2.5.3 need beyond the caller, in ONE round trip: the run (agent, status), a token from
/// the user's shared rate-limit bucket — taken only when the run is running, so a call refused by the run checks
/// costs no token — and the paying owner's credits less those held by its calls in flight, taking this call's hold
/// when the token was taken and the credits are there (<see cref="Reservations"/>). A user's grants are found through
/// billing.user_grant (migration UserGrantIndex), not by scanning the ledger. Hand-written because it runs on every
/// proxied call, where each round trip is most of the proxy's overhead (bench/README.md).
/// </summary>
public sealed record ChatGate(string? RunAgentId, AgentRunStatus? RunStatus, bool TokenTaken, Holding Credits)
{
    static string Build(LedgerOwner owner) => $"""
        WITH run AS (SELECT agent_id, status FROM agent_run WHERE id = @run AND user_id = @user),
        token AS ({SharedRateLimits.TakeTokenSql("SELECT @bucket_key, now(), @bucket_capacity - 1 FROM run WHERE status = 'running'")}),
        {Reservations.Ctes(owner, "EXISTS (SELECT 1 FROM token)")}
        SELECT r.agent_id, r.status::text, EXISTS (SELECT 1 FROM token), {Reservations.Columns}
        FROM balance b CROSS JOIN held h LEFT JOIN run r ON true
        """;

    static readonly string PersonalSql = Build(LedgerOwner.User("")), OrgSql = Build(LedgerOwner.Org(""));

    internal static string Sql(LedgerOwner payer) => payer.OrgId is null ? PersonalSql : OrgSql;

    internal static void AddParameters(NpgsqlParameterCollection ps, string userId, string runId, LedgerOwner payer, Guid callId, int hold, TimeSpan holdFor,
        DateTime now, TokenBucket bucket)
    {
        ps.Add(new NpgsqlParameter<string>("user", NpgsqlDbType.Text) { TypedValue = userId });
        ps.Add(new NpgsqlParameter<string>("run", NpgsqlDbType.Text) { TypedValue = runId });
        bucket.AddParameters(ps);
        // A hold is taken while at least 1 credit is available: the gate admits while balance − holds is positive.
        Reservations.AddParameters(ps, payer, callId, hold, required: 1, holdFor, now);
    }

    /// <param name="hold">The credits this call holds while in flight if admitted; 0 takes no hold (free and BYOK calls).</param>
    public static Task<ChatGate> ReadAsync(AppDbContext db, string userId, string runId, LedgerOwner payer, Guid callId, int hold, TimeSpan holdFor,
        DateTime now, TokenBucket bucket, CancellationToken ct)
    {
        var statement = new NpgsqlBatchCommand(Sql(payer));
        AddParameters(statement.Parameters, userId, runId, payer, callId, hold, holdFor, now, bucket);
        return Reservations.RunAsync(db, payer, hold > 0, statement, r => new ChatGate(r.IsDBNull(0) ? null : r.GetString(0),
            r.IsDBNull(1) ? null : Enum.Parse<AgentRunStatus>(r.GetString(1), ignoreCase: true), r.GetBoolean(2), Reservations.Read(r, 3)), ct);
    }
}
