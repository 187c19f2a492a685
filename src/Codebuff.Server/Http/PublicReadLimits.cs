using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Codebuff.Server.Http;

/// <summary>
/// Per-client-IP fixed windows (Codebuff:RateLimits:PublicReadsPerMinute, default 600) on the unauthenticated read
/// routes (the store, its metrics, agent versions and statistics, publishers' agents). Counted in this instance's
/// memory, unlike the login windows (SharedRateLimits): these routes exist to be cheap, and a database round trip per
/// anonymous request would be the very load the limit keeps off. N instances therefore allow N times the limit.
/// Refusals answer 429 with Retry-After through the limiter's one OnRejected (Auth/AuthRateLimits.cs).
/// </summary>
public static class PublicReadLimits
{
    public const string Policy = "public-reads";

    public static IServiceCollection AddPublicReadLimits(this IServiceCollection services, IConfiguration config)
    {
        var perMinute = config.GetValue("Codebuff:RateLimits:PublicReadsPerMinute", 600);
        return services.AddRateLimiter(o => o.AddPolicy(Policy, http => RateLimitPartition.GetFixedWindowLimiter(
            http.Connection.RemoteIpAddress?.ToString() ?? "",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })));
    }

    public static TBuilder RequirePublicReadLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRateLimiting(Policy);
}
