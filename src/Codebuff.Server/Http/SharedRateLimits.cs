namespace Codebuff.Server.Http;

/// <summary>
/// Rate-limit counters shared by every server instance on one database, so N instances allow the configured limit,
/// not N times it. Each check is one statement (an upsert on an unlogged table of schema "service") on this class's
/// own small pool: never inside a billing transaction and never waiting for a request's EF connection.
/// bench/README.md has its measured cost next to a SELECT 1 round trip.
/// </summary>
public sealed class SharedRateLimits(NpgsqlDataSource source) : IDisposable
{
    /// <summary>Connections this pool may hold per instance (README "Scaling out": add it to the pool sizing).</summary>
    public const int PoolSize = 10;

    public static SharedRateLimits Create(string connectionString) =>
        new(new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(connectionString)
        {
            // Its statements are prepared once per connection; they leave no session state, so no reset on rent.
            MaxPoolSize = PoolSize, MaxAutoPrepare = 10, NoResetOnClose = true,
        }.ConnectionString)
        { Name = "codebuff-rate-limits" }.Build()); // named: the pool's metric label, not its connection string

    /// <summary>A fixed window of <paramref name="window"/> that starts at the key's first hit.</summary>
    /// <returns>null when the hit is admitted; otherwise how long until the window ends.</returns>
    public ValueTask<TimeSpan?> HitWindowAsync(string key, int limit, TimeSpan window, CancellationToken ct) =>
        OnLiveConnectionAsync(() => HitWindowOnceAsync(key, limit, window, ct));

    async ValueTask<TimeSpan?> HitWindowOnceAsync(string key, int limit, TimeSpan window, CancellationToken ct)
    {
        // In DO UPDATE, w.* is the row before this hit; RETURNING sees the row after it.
        await using var cmd = source.CreateCommand("""
            INSERT INTO service.rate_window AS w (key, started_at, hits) VALUES ($1, now(), 1)
            ON CONFLICT (key) DO UPDATE SET
                hits = CASE WHEN w.started_at > now() - $2 THEN w.hits + 1 ELSE 1 END,
                started_at = CASE WHEN w.started_at > now() - $2 THEN w.started_at ELSE now() END
            RETURNING hits, EXTRACT(EPOCH FROM started_at + $2 - now())::float8
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = key });
        cmd.Parameters.Add(new NpgsqlParameter { Value = window });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (hits, secondsLeft) = (reader.GetInt32(0), reader.GetDouble(1));
        return hits <= limit ? null : TimeSpan.FromSeconds(Math.Max(1, secondsLeft));
    }

    /// <summary>A token bucket holding up to <paramref name="capacity"/> tokens, refilled at <paramref name="perSecond"/>.</summary>
    /// <returns>null when a token was taken; otherwise about how long until the next one.</returns>
    public ValueTask<TimeSpan?> TakeTokenAsync(string key, int capacity, double perSecond, CancellationToken ct) =>
        OnLiveConnectionAsync(() => TakeTokenOnceAsync(key, capacity, perSecond, ct));

    /// <summary>
    /// This data source's pool is not among those NpgsqlConnection.ClearAllPools() clears: after the database
    /// restarted, its idle connections are dead, so drop them and try once more on a fresh one.
    /// </summary>
    async ValueTask<TimeSpan?> OnLiveConnectionAsync(Func<ValueTask<TimeSpan?>> statement)
    {
        try { return await statement(); }
        catch (Exception e) when (DatabaseUnavailable.ConnectionLost(e))
        {
            source.Clear();
            return await statement();
        }
    }

    async ValueTask<TimeSpan?> TakeTokenOnceAsync(string key, int capacity, double perSecond, CancellationToken ct)
    {
        var bucket = new TokenBucket(key, capacity, perSecond);
        await using var cmd = source.CreateCommand(TakeTokenSql("VALUES (@bucket_key, now(), @bucket_capacity - 1)"));
        bucket.AddParameters(cmd.Parameters);
        return await cmd.ExecuteScalarAsync(ct) is null ? bucket.RetryAfter : null;
    }

    /// <summary>
    /// Takes one token from bucket @bucket_key (holding up to @bucket_capacity, refilled at @bucket_per_second):
    /// RETURNING a row when taken, none when the bucket is empty. The refill is computed from the time of the last
    /// take; a refused take writes nothing. <paramref name="newRow"/> is the row (key, updated_at, tokens) a first take
    /// inserts — a query that yields no row takes nothing, which lets a caller make the take conditional.
    /// </summary>
    public static string TakeTokenSql(string newRow) => $"""
        INSERT INTO service.rate_bucket AS b (key, updated_at, tokens) {newRow}
        ON CONFLICT (key) DO UPDATE SET
            tokens = LEAST(@bucket_capacity, b.tokens + EXTRACT(EPOCH FROM now() - b.updated_at)::float8 * @bucket_per_second) - 1,
            updated_at = now()
        WHERE LEAST(@bucket_capacity, b.tokens + EXTRACT(EPOCH FROM now() - b.updated_at)::float8 * @bucket_per_second) >= 1
        RETURNING tokens
        """;

    /// <summary>
    /// Forgets windows that have ended and buckets idle for an hour (full again for every configured rate of at
    /// least burst per hour), so the tables hold only keys seen recently. Run by ExpiredRowSweeper.
    /// </summary>
    public async Task SweepAsync(TimeSpan longestWindow, CancellationToken ct)
    {
        await using var batch = source.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM service.rate_window WHERE started_at < now() - $1") { Parameters = { new() { Value = longestWindow } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM service.rate_bucket WHERE updated_at < now() - interval '1 hour'"));
        await batch.ExecuteNonQueryAsync(ct);
    }

    public void Dispose() => source.Dispose();
}
