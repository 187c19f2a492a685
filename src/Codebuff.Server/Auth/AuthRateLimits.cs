using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Codebuff.Server.Auth;

/// <summary>Per-client-IP fixed windows on the login and token routes; 429 with Retry-After and a JSON body.</summary>
public static class AuthRateLimits
{
    public const string Login = "auth-login";
    public const string Status = "auth-status";
    public const string Tokens = "auth-tokens";

    public static IServiceCollection AddAuthRateLimits(this IServiceCollection services, AuthRateLimitOptions limits) =>
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(Login, http => PerIp(http, Login, limits.LoginPerMinute));
            o.AddPolicy(Status, http => PerIp(http, Status, limits.StatusPerMinute));
            o.AddPolicy(Tokens, http => PerIp(http, Tokens, limits.TokensPerMinute));
            o.OnRejected = async (context, ct) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? (int)Math.Ceiling(retry.TotalSeconds) : 60;
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.Response.WriteAsJsonAsync(new { error = $"Too many requests. Try again in {seconds} seconds." }, ct);
            };
        });

    static RateLimitPartition<string> PerIp(HttpContext http, string policy, int perMinute) =>
        RateLimitPartition.GetFixedWindowLimiter($"{policy}:{http.Connection.RemoteIpAddress}", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0,
        });
}
