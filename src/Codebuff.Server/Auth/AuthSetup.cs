using Microsoft.AspNetCore.Identity;

namespace Codebuff.Server.Auth;

public static class AuthSetup
{
    /// <summary>
    /// Tokens and their hashing, CLI login, passwords, the caller's authentication and its cache (kept fresh by
    /// PostgreSQL notifications on <paramref name="connectionString"/>), GitHub sign-in and the auth rate limits.
    /// </summary>
    public static void AddAuth(this IServiceCollection services, IConfiguration config, AuthSecret secret, string connectionString)
    {
        services.AddSingleton(secret);
        services.AddSingleton(new TokenHasher(secret.Value));
        services.AddSingleton<CliLogin>();
        services.AddSingleton<CliTokenVault>();
        services.AddScoped<CliOnboarding>();
        services.Configure<AuthOptions>(config.GetSection("Codebuff:Auth"));
        services.AddSingleton<PasswordHasher<User>>();
        services.AddScoped<PasswordSignIn>();
        services.AddScoped<PasswordLinks>();
        services.AddSingleton<PasswordMail>();
        services.AddHostedService(sp => sp.GetRequiredService<PasswordMail>());
        CallerAuthentication.Register(services);
        services.AddSingleton<CallerCache>();
        services.AddHostedService(sp => new CallerChanges(sp.GetRequiredService<CallerCache>(), connectionString, sp.GetRequiredService<ILogger<CallerChanges>>()));
        services.Configure<GitHubOptions>(config.GetSection("Codebuff:GitHub"));
        services.AddHttpClient(GitHubSignIn.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(20));
        services.AddAuthRateLimits(config.GetSection("Codebuff:RateLimits").Get<AuthRateLimitOptions>() ?? new AuthRateLimitOptions());
    }

    public static void MapAuth(this IEndpointRouteBuilder app)
    {
        app.MapMe();
        app.MapCliAuth();
        app.MapGitHubSignIn();
        app.MapApiKeys();
        app.MapProfile();
    }
}
