namespace Codebuff.Server.Http;

/// <summary>A token bucket of <see cref="SharedRateLimits"/>: its key, size and refill rate (tokens per second).</summary>
public sealed record TokenBucket(string Key, int Capacity, double PerSecond)
{
    /// <summary>About how long until an empty bucket holds a token again.</summary>
    public TimeSpan RetryAfter => TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(1 / PerSecond)));

    /// <summary>The parameters of <see cref="SharedRateLimits.TakeTokenSql"/>.</summary>
    public void AddParameters(NpgsqlParameterCollection ps)
    {
        ps.Add(new NpgsqlParameter<string>("bucket_key", NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = Key });
        ps.Add(new NpgsqlParameter<double>("bucket_capacity", NpgsqlTypes.NpgsqlDbType.Double) { TypedValue = Capacity });
        ps.Add(new NpgsqlParameter<double>("bucket_per_second", NpgsqlTypes.NpgsqlDbType.Double) { TypedValue = PerSecond });
    }
}
