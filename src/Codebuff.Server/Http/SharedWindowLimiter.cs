using System.Threading.RateLimiting;

namespace Codebuff.Server.Http;

/// <summary>
/// Plugs a shared fixed window into the ASP.NET Core rate limiter (its policies, partitions and OnRejected stay as
/// they are). The decision needs a database round trip, so it can only be made asynchronously: AttemptAcquire
/// declines, and the middleware then awaits AcquireAsync, which counts the hit once.
/// </summary>
public sealed class SharedWindowLimiter(SharedRateLimits limits, string key, int limit, TimeSpan window) : RateLimiter
{
    // Holds no state of its own, so the partitioned limiter may drop and recreate it at will.
    public override TimeSpan? IdleDuration => TimeSpan.MaxValue;

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.Declined;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken ct) =>
        await limits.HitWindowAsync(key, limit, window, ct) is { } retryAfter ? new Lease(false, retryAfter) : Lease.Granted;

    sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null), Declined = new(false, null);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
