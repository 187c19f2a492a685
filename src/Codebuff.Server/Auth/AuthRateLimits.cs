using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Components.Endpoints;
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
    /// <summary>The password pages (Razor components, <c>@attribute [EnableRateLimiting(AuthRateLimits.Password)]</c>):
    /// only their form posts count, so a flood of guesses cannot keep anyone from opening the page.</summary>
    public const string Password = "auth-password";

    public static IServiceCollection AddAuthRateLimits(this IServiceCollection services, AuthRateLimitOptions limits) =>
        services.AddSingleton(limits).AddRateLimiter(o =>
        {
            o.AddPolicy(Login, http => PerIp(http, Login, limits.LoginPerMinute));
            o.AddPolicy(Status, http => PerIp(http, Status, limits.StatusPerMinute));
            o.AddPolicy(Tokens, http => PerIp(http, Tokens, limits.TokensPerMinute));
            o.AddPolicy(Password, http => HttpMethods.IsPost(http.Request.Method)
                ? PerIp(http, Password, limits.PasswordPerMinute) : RateLimitPartition.GetNoLimiter(""));
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
                if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ComponentTypeMetadata>() is not null)
                {
                    context.HttpContext.Response.ContentType = "text/html; charset=utf-8";
                    await context.HttpContext.Response.WriteAsync(TooManyAttemptsPage(seconds), ct);
                }
                else await context.HttpContext.Response.WriteAsJsonAsync(new ErrorBody($"Too many requests. Try again in {seconds} seconds."), ct);
            };
        });

    /// <summary>A dashboard form refused before any component runs (the caller is not known yet): a bare page.</summary>
    static string TooManyAttemptsPage(int seconds) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Too many attempts · Codebuff</title></head>
        <body><main id="main"><h1>Too many attempts</h1>
        <p class="notice error" role="alert">Too many attempts from your address. Try again in {{seconds}} seconds.</p>
        <p><a href="/">Back to Codebuff</a></p></main></body></html>
        """;

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
