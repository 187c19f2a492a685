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
            // An endpoint has one policy, so the per-caller limit is the global limiter, active only where an endpoint
            // asks for it (PerCallerTokens) and the request carries a credential; the policy still counts per IP.
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.GetEndpoint()?.Metadata.GetMetadata<PerCallerTokens>() is not null && CallerKey(http) is { } caller
                    ? RateLimitPartition.GetFixedWindowLimiter("caller:" + caller, _ => Window(limits.TokensPerUserPerMinute))
                    : RateLimitPartition.GetNoLimiter(""));
            o.OnRejected = async (context, ct) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? (int)Math.Ceiling(retry.TotalSeconds) : 60;
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.Response.WriteAsJsonAsync(new { error = $"Too many requests. Try again in {seconds} seconds." }, ct);
            };
        });

    /// <summary>Endpoint metadata: also limit per caller credential (TokensPerUserPerMinute).</summary>
    public sealed class PerCallerTokens;

    public static TBuilder RequirePerCallerTokenLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new PerCallerTokens());

    static RateLimitPartition<string> PerIp(HttpContext http, string policy, int perMinute) =>
        RateLimitPartition.GetFixedWindowLimiter($"{policy}:{http.Connection.RemoteIpAddress}", _ => Window(perMinute));

    static FixedWindowRateLimiterOptions Window(int perMinute) =>
        new() { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 };

    /// <summary>The caller's credential (cookie, else header token) as its keyed hash, so no raw token is kept as a key.
    /// A session is the finest identity available before the endpoint runs (the lookup to a user is a DB query).</summary>
    static string? CallerKey(HttpContext http) =>
        (WebSession.GetToken(http.Request) ?? Credentials.HeaderToken(http.Request)) is { } token
            ? http.RequestServices.GetRequiredService<TokenHasher>().Hash(token)
            : null;
}
