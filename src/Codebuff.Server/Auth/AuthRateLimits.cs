using System.Globalization;
using System.Threading.RateLimiting;
using Codebuff.Server.Hosting;
using Microsoft.AspNetCore.RateLimiting;

namespace Codebuff.Server.Auth;

/// <summary>
/// Per-client-IP fixed windows on the login and token routes, counted in PostgreSQL so that every instance shares them;
/// 429 with Retry-After and a JSON body. Behind a load balancer set ASPNETCORE_FORWARDEDHEADERS_ENABLED=true so the
/// client IP is the caller's, not the balancer's.
/// </summary>
public static class AuthRateLimits
{
    public const string Login = "auth-login";
    public const string Status = "auth-status";
    public const string Tokens = "auth-tokens";

    public static IServiceCollection AddAuthRateLimits(this IServiceCollection services, AuthRateLimitOptions limits) =>
        services.AddSingleton(limits).AddRateLimiter(o =>
        {
            o.AddPolicy(Login, http => PerIp(http, Login, limits.LoginPerMinute));
            o.AddPolicy(Status, http => PerIp(http, Status, limits.StatusPerMinute));
            o.AddPolicy(Tokens, http => PerIp(http, Tokens, limits.TokensPerMinute));
            // An endpoint has one policy, so the per-caller limit is the global limiter, active only where an endpoint
            // asks for it (PerCallerTokens) and the request carries a credential; the policy still counts per IP.
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.GetEndpoint()?.Metadata.GetMetadata<PerCallerTokens>() is not null && CallerKey(http) is { } caller
                    ? Shared(http, "caller:" + caller, limits.TokensPerUserPerMinute)
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

    /// <summary>
    /// The token-creation limits (per IP and per caller, the same shared windows as POST /api/api-keys) for a form that
    /// creates a token inside a page endpoint, where no per-route policy applies; null when admitted, else the wait.
    /// </summary>
    public static async Task<TimeSpan?> HitTokenCreationAsync(HttpContext http, CancellationToken ct)
    {
        var limits = http.RequestServices.GetRequiredService<AuthRateLimitOptions>();
        var shared = http.RequestServices.GetRequiredService<SharedRateLimits>();
        if (await shared.HitWindowAsync($"{Tokens}:{http.Connection.RemoteIpAddress}", limits.TokensPerMinute, TimeSpan.FromMinutes(1), ct) is { } wait)
            return wait;
        return CallerKey(http) is { } caller
            ? await shared.HitWindowAsync("caller:" + caller, limits.TokensPerUserPerMinute, TimeSpan.FromMinutes(1), ct)
            : null;
    }

    static RateLimitPartition<string> PerIp(HttpContext http, string policy, int perMinute) =>
        Shared(http, $"{policy}:{http.Connection.RemoteIpAddress}", perMinute);

    /// <summary>A one-minute window counted in PostgreSQL, shared by every instance (Hosting/SharedRateLimits.cs).</summary>
    static RateLimitPartition<string> Shared(HttpContext http, string key, int perMinute) =>
        RateLimitPartition.Get(key, k => new SharedWindowLimiter(http.RequestServices.GetRequiredService<SharedRateLimits>(), k, perMinute, TimeSpan.FromMinutes(1)));

    /// <summary>The caller's credential (cookie, else header token) as its keyed hash, so no raw token is kept as a key.
    /// A session is the finest identity available before the endpoint runs (the lookup to a user is a DB query).</summary>
    static string? CallerKey(HttpContext http) =>
        (WebSession.GetToken(http.Request) ?? Credentials.HeaderToken(http.Request)) is { } token
            ? http.RequestServices.GetRequiredService<TokenHasher>().Hash(token)
            : null;
}
