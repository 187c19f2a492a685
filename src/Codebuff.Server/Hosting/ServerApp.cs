using Codebuff.Server.AgentRuns;
using Codebuff.Server.Agents;
using Codebuff.Server.Auth;
using Codebuff.Server.Billing;
using Codebuff.Server.Chat;
using Codebuff.Server.Data;
using Codebuff.Server.Health;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tools;
using Codebuff.Server.Web;

namespace Codebuff.Server.Hosting;

/// <summary>Service registration and endpoint mapping, shared by the real host and the tests' loopback hosts.</summary>
public static class ServerApp
{
    /// <param name="overrides">Test seam: replaces registrations (e.g. the clock) after the real ones.</param>
    public static WebApplication Build(WebApplicationBuilder builder, Action<IServiceCollection>? overrides = null)
    {
        AddServices(builder);
        overrides?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Rate limits first: a flood is refused before any credential costs a database lookup.
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        MapEndpoints(app);
        return app;
    }

    static void AddServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        var options = config.GetSection("Codebuff").Get<CodebuffOptions>() ?? new CodebuffOptions();
        services.Configure<CodebuffOptions>(config.GetSection("Codebuff"));
        var connectionString = config.GetConnectionString("Default")
            ?? throw new StartupException("ConnectionStrings:Default is not set");

        services.AddDbContext<AppDbContext>(o => AppDbContext.Configure(o, connectionString));
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.ConfigureHttpJsonOptions(o => JsonConfig.Apply(o.SerializerOptions));

        var secret = new AuthSecret(Secrets.LoadOrCreate(options.AuthSecret, options.DataDir, "auth.secret"));
        services.AddSingleton(secret);
        services.AddSingleton(new TokenHasher(secret.Value));
        services.AddSingleton<CliLogin>();
        services.AddSingleton<CliTokenVault>();
        CallerAuthentication.Register(services);
        services.Configure<GitHubOptions>(config.GetSection("Codebuff:GitHub"));
        services.AddHttpClient(GitHubSignIn.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(20));
        services.AddAuthRateLimits(config.GetSection("Codebuff:RateLimits").Get<AuthRateLimitOptions>() ?? new AuthRateLimitOptions());
        services.AddScoped<CreditLedger>();
        services.AddChat(config, options.DataDir);
        services.AddAgents(config);
        services.AddOrgs(config);
    }

    static void MapEndpoints(WebApplication app)
    {
        app.MapOpenApi(); // /openapi/v1.json
        app.MapHealth();
        app.MapMe();
        app.MapCliAuth();
        app.MapGitHubSignIn();
        app.MapLoginPages();
        app.MapProfilePage();
        app.MapApiKeys();
        app.MapProfile();
        app.MapAgentRuns();
        app.MapChatCompletions();
        app.MapByokKeys();
        app.MapTools();
        app.MapAgents();
        app.MapUsage();
        app.MapReferrals();
        app.MapOrgs();
    }
}
