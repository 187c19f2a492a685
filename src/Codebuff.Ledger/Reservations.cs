using System.Security.Cryptography;
using System.Text;
using NpgsqlTypes;

namespace Codebuff.Ledger;

/// <summary>
/// What an owner may spend now: its balance as the ledger reports it (<see cref="TotalRemaining"/>: debt settled
/// against positive grants first), the credits its calls in flight hold, and whether this call's hold was taken.
/// </summary>
public readonly record struct Holding(int Positive, int Debt, int Held, bool Taken)
{
    public int TotalRemaining => OwnerGrants.Remaining(Positive, Debt);
    public int Available => TotalRemaining - Held;

    /// <summary>The 402 text for an owner whose balance is positive but held by its calls in flight.</summary>
    public string HeldMessage(bool org) =>
        $"{(org ? "Organization credits" : "Credits")} are held by calls in progress: {Held} of the {TotalRemaining} remaining are reserved for unfinished calls. Try again when they finish.";
}

/// <summary>
/// Credits held by calls in flight (README "Credits held by calls in progress"), in billing.reservation (migration
/// CallReservations): one row per call, keyed by the call id its charge carries. A hold is taken in the gate's round
/// trip only while the owner's balance less every unexpired hold covers what is required, released by the charge's
/// own transaction (ChargeSql) — a journal replay included — or by <see cref="ReleaseAsync"/> when the call ends
/// unbilled, and ignored once expired (an instance that died leaves none behind for long). Takers of one owner are
/// serialised by an advisory lock of their own, taken in a statement before the one that reads the holds, so that
/// statement's snapshot sees every earlier taker's row: BEGIN; lock; take; COMMIT in one round trip. The ledger's
/// lock is not needed: a charge commits its consumption and the removal of its hold together, so any snapshot sees
/// both or neither.
/// </summary>
public static class Reservations
{
    /// <summary>
    /// The CTEs <c>balance</c> (positive, debt), <c>held</c> (credits) and <c>reserved</c> (the hold taken, when
    /// <paramref name="condition"/> holds, @hold &gt; 0 and the available credits are at least @required).
    /// Parameters: see <see cref="AddParameters"/>.
    /// </summary>
    public static string Ctes(LedgerOwner owner, string condition) => $"""
        balance AS (
            {OwnerGrants.Balance(owner)}
        ),
        held AS (
            SELECT coalesce(sum(r.credits), 0)::int AS credits FROM billing.reservation r WHERE r.owner = @owner AND r.expires_at > now()
        ),
        reserved AS (
            INSERT INTO billing.reservation (call_id, owner, credits, expires_at)
            SELECT @call, @owner, @hold, now() + @hold_for FROM balance b, held h
            WHERE @hold > 0 AND ({condition}) AND b.remaining - h.credits >= @required
            RETURNING call_id
        )
        """;

    /// <summary>The columns that <see cref="Read"/> reads, from the CTEs of <see cref="Ctes"/> (aliases b and h).</summary>
    public const string Columns = "b.positive, b.debt, h.credits, EXISTS (SELECT 1 FROM reserved)";

    public static Holding Read(NpgsqlDataReader r, int first) =>
        new(r.GetInt32(first), r.GetInt32(first + 1), r.GetInt32(first + 2), r.GetBoolean(first + 3));

    public static void AddParameters(NpgsqlParameterCollection ps, LedgerOwner owner, Guid callId, int hold, int required, TimeSpan holdFor, DateTime now)
    {
        ps.Add(new NpgsqlParameter("u", NpgsqlDbType.Text) { Value = (object?)owner.UserId ?? DBNull.Value });
        ps.Add(new NpgsqlParameter("org", NpgsqlDbType.Text) { Value = (object?)owner.OrgId ?? DBNull.Value });
        ps.Add(new NpgsqlParameter<string>("owner", NpgsqlDbType.Text) { TypedValue = owner.LockKey });
        ps.Add(new NpgsqlParameter<Guid>("call", NpgsqlDbType.Uuid) { TypedValue = callId });
        ps.Add(new NpgsqlParameter<int>("hold", NpgsqlDbType.Integer) { TypedValue = hold });
        ps.Add(new NpgsqlParameter<int>("required", NpgsqlDbType.Integer) { TypedValue = required });
        ps.Add(new NpgsqlParameter<TimeSpan>("hold_for", NpgsqlDbType.Interval) { TypedValue = holdFor });
        ps.Add(new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc) });
    }

    /// <summary>
    /// Runs a statement built on <see cref="Ctes"/> and reads its one row: alone when it cannot take a hold (nothing
    /// to serialise), else as BEGIN; the owner's taker lock; the statement; COMMIT — one round trip either way.
    /// </summary>
    public static async Task<T> RunAsync<T>(AppDbContext db, LedgerOwner owner, bool mayHold, NpgsqlBatchCommand statement,
        Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch(conn);
            if (mayHold)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
                // [our choice] 10 s: takers hold this lock for one statement each, so a wait that long means trouble.
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(@key) FROM (SELECT set_config('lock_timeout', '10s', true)) AS t")
                {
                    Parameters = { new NpgsqlParameter<long>("key", LockId(owner)) },
                });
            }
            batch.BatchCommands.Add(statement);
            if (mayHold) batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            if (mayHold) await reader.NextResultAsync(ct); // past the lock's row
            await reader.ReadAsync(ct);
            var result = read(reader);
            while (await reader.NextResultAsync(ct)) { } // COMMIT's outcome
            return result;
        }
        catch (Exception e)
        {
            DatabaseUnavailable.ForgetConnections(conn, e);
            // A failed statement leaves the transaction aborted; end it before the connection goes back to the pool.
            if (mayHold && conn.FullState == System.Data.ConnectionState.Open)
                try { await using var rollback = new NpgsqlCommand("ROLLBACK", conn); await rollback.ExecuteNonQueryAsync(CancellationToken.None); }
                catch (Exception rollbackError) when (rollbackError is NpgsqlException or InvalidOperationException) { }
            throw;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// Takes a hold of <paramref name="credits"/> when the owner has at least <paramref name="required"/> credits
    /// available (the search tools: their fixed price, both).
    /// </summary>
    public static Task<Holding> TakeAsync(AppDbContext db, LedgerOwner owner, Guid callId, int credits, int required, TimeSpan holdFor, DateTime now,
        CancellationToken ct)
    {
        var statement = new NpgsqlBatchCommand($"WITH {Ctes(owner, "true")} SELECT {Columns} FROM balance b, held h");
        AddParameters(statement.Parameters, owner, callId, credits, required, holdFor, now);
        return RunAsync(db, owner, credits > 0, statement, r => Read(r, 0), ct);
    }

    /// <summary>
    /// Releases the hold of a call that ended without a charge (failed, refused by the provider, nothing produced).
    /// Best effort: a database that does not answer leaves the hold to expire.
    /// </summary>
    public static async Task ReleaseAsync(AppDbContext db, Guid callId, ILogger log)
    {
        try
        {
            await db.Database.ExecuteSqlAsync($"DELETE FROM billing.reservation WHERE call_id = {callId}", CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            log.LogWarning("the hold of call {CallId} was not released and will expire: {Error}", callId, e.Message);
        }
    }

    /// <summary>Forgets expired holds (they are already ignored). Run by ExpiredRowSweeper.</summary>
    public static Task SweepAsync(AppDbContext db, CancellationToken ct) =>
        db.Database.ExecuteSqlRawAsync("DELETE FROM billing.reservation WHERE expires_at < now()", ct);

    /// <summary>The takers' advisory-lock id: the first 8 bytes of SHA-256("hold:" + the ledger owner's lock key).</summary>
    static long LockId(LedgerOwner owner) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("hold:" + owner.LockKey)), 0);
}
