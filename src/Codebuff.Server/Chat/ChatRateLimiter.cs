namespace Codebuff.Server.Chat;

/// <summary>
/// Per-user token bucket (RateLimitPerMinute, RateLimitBurst) counted in PostgreSQL, so every instance draws from the
/// same bucket. The token is taken by the gate query (<see cref="ChatGate"/>), in the same round trip as the run and
/// balance reads; api.md §2.5.3 puts the rate limit after the run checks, and the handler answers in that order.
/// </summary>
public sealed class ChatRateLimiter(IOptions<ChatOptions> options)
{
    public TokenBucket BucketOf(string userId)
    {
        var o = options.Value;
        return new TokenBucket("chat:" + userId, Math.Max(1, o.RateLimitBurst), Math.Max(1, o.RateLimitPerMinute) / 60.0);
    }
}
