using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Chat;

/// <summary>
/// Per-user token bucket (System.Threading.RateLimiting, the limiter behind ASP.NET Core's middleware). It is called
/// from the handler rather than as middleware because api.md §2.5.3 puts the rate limit after the run checks.
/// </summary>
public sealed class ChatRateLimiter : IDisposable
{
    readonly PartitionedRateLimiter<string> _limiter;
    readonly double _secondsPerToken;

    public ChatRateLimiter(IOptions<ChatOptions> options)
    {
        var o = options.Value;
        var perMinute = Math.Max(1, o.RateLimitPerMinute);
        _secondsPerToken = 60.0 / perMinute;
        _limiter = PartitionedRateLimiter.Create<string, string>(userId => RateLimitPartition.GetTokenBucketLimiter(userId, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(1, o.RateLimitBurst),
                QueueLimit = 0,
                // Refill once a second (or slower for very low limits) so the bucket tracks the per-minute rate closely.
                ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(_secondsPerToken))),
                TokensPerPeriod = Math.Max(1, (int)Math.Round(perMinute / 60.0 * Math.Max(1, Math.Ceiling(_secondsPerToken)))),
                AutoReplenishment = true,
            }));
    }

    /// <returns>null when the call may proceed, otherwise how long to wait.</returns>
    public TimeSpan? TryAcquire(string userId)
    {
        using var lease = _limiter.AttemptAcquire(userId);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) && retry > TimeSpan.Zero
            ? retry
            : TimeSpan.FromSeconds(Math.Max(1, _secondsPerToken));
    }

    public void Dispose() => _limiter.Dispose();
}
