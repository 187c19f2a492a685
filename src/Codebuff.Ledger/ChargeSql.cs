using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore.Storage;
using NpgsqlTypes;

namespace Codebuff.Ledger;

/// <summary>
/// The billing transaction, hand-written because it is the hot path (bench/Codebuff.Bench.Ledger measured EF at
/// 1.6–2× the cost): one owner's charges, however many, in ONE round trip — BEGIN; the owner's advisory lock; the
/// quota-reset check; one statement that skips calls applied before, names the message rows, consumes the grants in
/// order (api.md §7.6), inserts the message, billing.message_call and service.message_provider rows and releases the calls' holds
/// (billing.reservation); COMMIT. Under READ COMMITTED each
/// statement takes its snapshot when it starts, so the big statement, sent after the lock statement, sees every
/// earlier holder's writes. Several personal owners' charges can share that transaction (ChargeCombiner).
/// </summary>
static class ChargeSql
{
    /// <summary>
    /// Runs the charges as their own transaction. Returns null — having changed nothing — when the owner's monthly
    /// reset is due; the caller runs it (rare, EF) and calls again.
    /// </summary>
    public static async Task<IReadOnlyList<ChargeResult>?> RunStandaloneAsync(AppDbContext db, LedgerOwner owner, IReadOnlyList<Charge> charges,
        DateTime now, CancellationToken ct) => (await RunStandaloneAsync(db, [(owner, charges)], now, ct))[0];

    /// <summary>
    /// Several owners' charges in ONE transaction and round trip (ChargeQueue combines owners whose charges are ready at
    /// the same moment): every owner's lock first, in lock-id order, so the transaction never holds a row while waiting
    /// for a lock; then each owner's reset check and charge statement, in user-id order, so that its rollup rows are
    /// taken in the same (user, day) order as any other transaction's. Per owner, in the order given: its results, or
    /// null — its charges not applied — when its monthly reset is due. Meant for personal owners: an org's charge
    /// writes its members' rollup rows, whose order across owners this would not keep.
    /// </summary>
    public static async Task<IReadOnlyList<IReadOnlyList<ChargeResult>?>> RunStandaloneAsync(AppDbContext db,
        IReadOnlyList<(LedgerOwner Owner, IReadOnlyList<Charge> Charges)> groups, DateTime now, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch(conn);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            var owners = groups.Select(g => g.Owner).Distinct().OrderBy(LockId).ToList();
            foreach (var owner in owners) batch.BatchCommands.Add(LockCommand(owner));
            var order = Enumerable.Range(0, groups.Count).OrderBy(i => groups[i].Owner.LockKey, StringComparer.Ordinal).ToList();
            foreach (var i in order)
            {
                var (owner, charges) = groups[i];
                var due = new NpgsqlBatchCommand("""SELECT count(*) FROM "user" WHERE @org::text IS NULL AND id = @u AND next_quota_reset <= @now_plain""");
                AddOwner(due.Parameters, owner, now);
                batch.BatchCommands.Add(due);
                var charge = new NpgsqlBatchCommand(Sql(owner));
                AddChargeParameters(charge.Parameters, owner, charges, now);
                batch.BatchCommands.Add(charge);
            }
            batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            foreach (var _ in owners) await reader.NextResultAsync(ct); // past the locks' rows
            var results = new IReadOnlyList<ChargeResult>?[groups.Count];
            foreach (var i in order)
            {
                await reader.ReadAsync(ct);
                var resetDue = reader.GetInt64(0) > 0;
                await reader.NextResultAsync(ct);
                var applied = await ReadResultsAsync(reader, groups[i].Charges, ct);
                results[i] = resetDue ? null : applied;
                await reader.NextResultAsync(ct);
            }
            return results;
        }
        catch (Exception e)
        {
            DatabaseUnavailable.ForgetConnections(conn, e);
            // A failed statement leaves the transaction aborted; end it before the connection goes back to the pool.
            if (conn.FullState == System.Data.ConnectionState.Open)
                try { await using var rollback = new NpgsqlCommand("ROLLBACK", conn); await rollback.ExecuteNonQueryAsync(CancellationToken.None); }
                catch (Exception rollbackError) when (rollbackError is NpgsqlException or InvalidOperationException) { }
            throw;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Runs the charges inside a <see cref="LedgerTransaction"/>'s transaction, which already holds the lock.</summary>
    public static async Task<IReadOnlyList<ChargeResult>> RunInTransactionAsync(AppDbContext db, LedgerOwner owner, IReadOnlyList<Charge> charges,
        DateTime now, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var cmd = new NpgsqlCommand(Sql(owner), conn, (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
        AddChargeParameters(cmd.Parameters, owner, charges, now);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await ReadResultsAsync(reader, charges, ct);
    }

    /// <summary>
    /// The owner's transaction-scoped advisory lock. Like upstream, a lock that cannot be had within 30 s fails the
    /// statement (lock_timeout, set for this transaction only) rather than queueing behind a stuck holder.
    /// </summary>
    public static NpgsqlBatchCommand LockCommand(LedgerOwner owner) =>
        new("SELECT pg_advisory_xact_lock(@key) FROM (SELECT set_config('lock_timeout', '30s', true)) AS t")
        {
            Parameters = { new NpgsqlParameter<long>("key", LockId(owner)) },
        };

    /// <summary>64-bit advisory-lock id: the first 8 bytes of SHA-256("user:&lt;id&gt;" or "org:&lt;id&gt;").</summary>
    public static long LockId(LedgerOwner owner) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(owner.LockKey)), 0);

    static async Task<IReadOnlyList<ChargeResult>> ReadResultsAsync(DbDataReader reader, IReadOnlyList<Charge> charges, CancellationToken ct)
    {
        var applied = new Dictionary<Guid, string>();
        while (await reader.ReadAsync(ct)) applied[reader.GetGuid(0)] = reader.GetString(1);
        return charges.Select(c => applied.TryGetValue(c.CallId, out var id) ? new ChargeResult(c.CallId, id, true) : new ChargeResult(c.CallId, null, false)).ToList();
    }

    static void AddOwner(NpgsqlParameterCollection ps, LedgerOwner owner, DateTime now)
    {
        ps.Add(new NpgsqlParameter("u", NpgsqlDbType.Text) { Value = (object?)owner.UserId ?? DBNull.Value });
        ps.Add(new NpgsqlParameter("org", NpgsqlDbType.Text) { Value = (object?)owner.OrgId ?? DBNull.Value });
        ps.Add(new NpgsqlParameter<DateTime>("now_plain", NpgsqlDbType.Timestamp) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Unspecified) });
    }

    /// <summary>The charge statement for this kind of owner: they differ only in how the owner's grants are found.</summary>
    internal static string Sql(LedgerOwner owner) => owner.OrgId is null ? PersonalSql : OrgSql;

    static readonly string PersonalSql = Template.Replace(LiveGrants, OwnerGrants.Live(LedgerOwner.User(""), Active));
    static readonly string OrgSql = Template.Replace(LiveGrants, OwnerGrants.Live(LedgerOwner.Org(""), Active));

    const string LiveGrants = "/* live grants */";
    const string Active = "operation_id, balance, priority, expires_at, created_at";

    internal const string Template = $$"""
        WITH input AS (
            SELECT * FROM unnest(@call_ids, @provider_ids, @own_ids, @user_ids, @finished_at, @client_ids, @client_request_ids, @models,
                                 @agent_ids, @reasoning, @responses, @input_tokens, @cache_read, @reasoning_tokens, @output_tokens,
                                 @costs, @credits, @byok, @latency, @deduct, @repo_urls, @cache_creation, @providers) WITH ORDINALITY
                AS i(call_id, provider_id, own_id, user_id, finished_at, client_id, client_request_id, model, agent_id, reasoning_text,
                     response, input_tokens, cache_read_input_tokens, reasoning_tokens, output_tokens, cost, credits, byok, latency_ms,
                     deduct, repo_url, cache_creation_input_tokens, llm_provider, ord)
            WHERE NOT EXISTS (SELECT 1 FROM "user" WHERE @org::text IS NULL AND id = @u AND next_quota_reset <= @now_plain)
        ),
        released AS (
            -- The credits the calls held while in flight (Reservations.cs) end with their charge, applied now
            -- or before (a replay).
            DELETE FROM billing.reservation WHERE call_id IN (SELECT call_id FROM input)
        ),
        fresh AS (
            SELECT i.*, row_number() OVER (PARTITION BY i.provider_id ORDER BY i.ord) AS nth
            FROM input i
            WHERE NOT EXISTS (SELECT 1 FROM billing.message_call c WHERE c.call_id = i.call_id)
        ),
        named AS (
            SELECT f.*,
                   CASE WHEN f.provider_id <> '' AND f.nth = 1 AND NOT EXISTS (SELECT 1 FROM message m WHERE m.id = f.provider_id)
                        THEN f.provider_id ELSE f.own_id END AS message_id
            FROM fresh f
        ),
        total AS (SELECT coalesce(sum(credits) FILTER (WHERE deduct), 0) AS n, min(message_id) AS first_id FROM named),
        active AS (
            /* live grants */
        ),
        ordered AS (
            SELECT operation_id, balance,
                   sum(greatest(balance, 0)) OVER (ORDER BY priority, expires_at IS NULL, expires_at, created_at, operation_id) AS through,
                   row_number() OVER (ORDER BY priority DESC, expires_at IS NULL DESC, expires_at DESC, created_at DESC, operation_id DESC) AS from_end
            FROM active
        ),
        spend AS (
            SELECT o.operation_id,
                   o.balance
                   - CASE WHEN o.balance > 0 THEN least(o.balance, greatest(0, t.n - (o.through - o.balance))) ELSE 0 END
                   - CASE WHEN o.from_end = 1 THEN greatest(0, t.n - (SELECT max(through) FROM ordered)) ELSE 0 END AS balance
            FROM ordered o CROSS JOIN total t
            WHERE t.n > 0
        ),
        spent AS (
            UPDATE credit_ledger g SET balance = s.balance FROM spend s
            WHERE g.operation_id = s.operation_id AND g.balance <> s.balance
        ),
        debt AS (
            INSERT INTO credit_ledger (operation_id, user_id, org_id, principal, balance, type, description, priority, created_at)
            SELECT 'debt-' || t.first_id, coalesce(@u, (SELECT owner_id FROM org WHERE id = @org)), @org, 0, -t.n,
                   (CASE WHEN @org::text IS NULL THEN 'admin' ELSE 'organization' END)::grant_type,
                   'Debt from usage without an active grant', CASE WHEN @org::text IS NULL THEN 60 ELSE 70 END, @now
            FROM total t WHERE t.n > 0 AND NOT EXISTS (SELECT 1 FROM active)
        ),
        messages AS (
            INSERT INTO message (id, finished_at, client_id, client_request_id, model, agent_id, reasoning_text, response, input_tokens,
                                 cache_read_input_tokens, reasoning_tokens, output_tokens, cost, credits, byok, latency_ms, user_id, org_id, repo_url,
                                 cache_creation_input_tokens)
            SELECT message_id, finished_at, client_id, client_request_id, model, agent_id, reasoning_text, response::jsonb, input_tokens,
                   cache_read_input_tokens, reasoning_tokens, output_tokens, cost, credits, byok, latency_ms, user_id, @org, repo_url,
                   cache_creation_input_tokens
            FROM named
        ),
        calls AS (
            INSERT INTO billing.message_call (call_id, message_id, provider_message_id)
            SELECT call_id, message_id, nullif(provider_id, '') FROM named
        ),
        providers AS (
            INSERT INTO service.message_provider (message_id, provider)
            SELECT message_id, llm_provider FROM named WHERE llm_provider IS NOT NULL
        ){{RollupCtes}}
        SELECT call_id, message_id FROM named
        """;

    /// <summary>
    /// The usage rollups (migration ReadRollups) kept in the same statement as the message rows, so the charts and
    /// the org's top users are exact and cost no scan of message. Rows go in key order: two owners' transactions
    /// touching the same member's day queue behind each other instead of deadlocking. bench/Codebuff.Bench.Reads
    /// measures billed calls/s with and without this part.
    /// </summary>
    internal const string RollupCtes = """
        ,
        user_days AS (
            INSERT INTO rollup.user_day AS d (user_id, day, calls, credits)
            SELECT user_id, finished_at::date, count(*), sum(credits) FROM named WHERE user_id IS NOT NULL
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (user_id, day) DO UPDATE SET calls = d.calls + excluded.calls, credits = d.credits + excluded.credits
        ),
        org_days AS (
            INSERT INTO rollup.org_user_day AS d (org_id, day, user_id, calls, credits)
            SELECT @org, finished_at::date, user_id, count(*), sum(credits) FROM named
            WHERE @org::text IS NOT NULL AND user_id IS NOT NULL AND NOT byok
            GROUP BY 2, 3 ORDER BY 2, 3
            ON CONFLICT (org_id, day, user_id) DO UPDATE SET calls = d.calls + excluded.calls, credits = d.credits + excluded.credits
        )
        """;

    internal static void AddChargeParameters(NpgsqlParameterCollection ps, LedgerOwner owner, IReadOnlyList<Charge> charges, DateTime now)
    {
        AddOwner(ps, owner, now);
        ps.Add(new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc) });
        void Array<T>(string name, NpgsqlDbType type, Func<Charge, T> pick) =>
            ps.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = charges.Select(pick).ToArray() });
        Array("call_ids", NpgsqlDbType.Uuid, c => c.CallId);
        Array("provider_ids", NpgsqlDbType.Text, c => c.ProviderId);
        Array("own_ids", NpgsqlDbType.Text, c => c.OwnId);
        Array("user_ids", NpgsqlDbType.Text, c => c.UserId);
        Array("finished_at", NpgsqlDbType.Timestamp, c => DateTime.SpecifyKind(c.FinishedAt, DateTimeKind.Unspecified));
        Array("client_ids", NpgsqlDbType.Text, c => c.ClientId);
        Array("client_request_ids", NpgsqlDbType.Text, c => c.ClientRequestId);
        Array("models", NpgsqlDbType.Text, c => c.Model);
        Array("agent_ids", NpgsqlDbType.Text, c => c.AgentId);
        Array("reasoning", NpgsqlDbType.Text, c => c.ReasoningText);
        Array("responses", NpgsqlDbType.Text, c => c.Response);
        Array("input_tokens", NpgsqlDbType.Integer, c => c.InputTokens);
        Array("cache_read", NpgsqlDbType.Integer, c => c.CacheReadInputTokens);
        Array("reasoning_tokens", NpgsqlDbType.Integer, c => c.ReasoningTokens);
        Array("output_tokens", NpgsqlDbType.Integer, c => c.OutputTokens);
        Array("costs", NpgsqlDbType.Numeric, c => c.Cost);
        Array("credits", NpgsqlDbType.Integer, c => c.Credits);
        Array("byok", NpgsqlDbType.Boolean, c => c.Byok);
        Array("latency", NpgsqlDbType.Integer, c => c.LatencyMs);
        Array("deduct", NpgsqlDbType.Boolean, c => c.Deduct);
        Array("repo_urls", NpgsqlDbType.Text, c => c.RepoUrl);
        Array("cache_creation", NpgsqlDbType.Integer, c => c.CacheCreationInputTokens);
        Array("providers", NpgsqlDbType.Text, c => c.Provider);
    }
}
