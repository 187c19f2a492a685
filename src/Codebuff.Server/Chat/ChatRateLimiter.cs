using Codebuff.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Chat;

/// <summary>
/// Per-user token bucket (RateLimitPerMinute, RateLimitBurst) counted in PostgreSQL, so every instance draws from the
/// same bucket. Called from the handler rather than as middleware because api.md §2.5.3 puts the rate limit after the
/// run checks; it runs before, and apart from, any billing transaction.
/// </summary>
public sealed class ChatRateLimiter(SharedRateLimits limits, IOptions<ChatOptions> options)
{
    /// <returns>null when the call may proceed, otherwise how long to wait.</returns>
    public ValueTask<TimeSpan?> TryAcquireAsync(string userId, CancellationToken ct)
    {
        var o = options.Value;
        return limits.TakeTokenAsync("chat:" + userId, Math.Max(1, o.RateLimitBurst), Math.Max(1, o.RateLimitPerMinute) / 60.0, ct);
    }
}
