using Codebuff.Server.AgentRuns;
using Codebuff.Server.Agents;
using Codebuff.Server.Billing;
using Codebuff.Server.Chat;
using Codebuff.Server.Evals;
using Codebuff.Server.Health;
using Codebuff.Server.Orgs;
using Codebuff.Server.Payments;
using Codebuff.Server.Telemetry;
using Codebuff.Server.Tools;
using Codebuff.Server.Web;
using Microsoft.EntityFrameworkCore.Diagnostics;

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
        // Bodies are judged (size, unstorable strings) before authentication may read one for a legacy authToken.
        app.UseMiddleware<RequestBodyGuard>();
        app.UseAuthentication();
        app.UseAuthorization();
        // The dashboard's forms carry an antiforgery token; JSON routes are unaffected (they declare no form binding).
        app.UseAntiforgery();
        MapEndpoints(app);
        return app;
    }

    /// <summary>
    /// Contexts kept for reuse. EF's default (1,024) kept every context a burst of requests had leased at once — ~18 KB
    /// each, for good (bench/README.md, memory); a few more than the connections they can use (Database:MaxPoolSize)
    /// serve any steady load, and a burst beyond them builds contexts that are then collected.
    /// </summary>
    const int ContextPoolSize = 128;

    static void AddServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        var options = config.GetSection("Codebuff").Get<CodebuffOptions>() ?? new CodebuffOptions();
        services.Configure<CodebuffOptions>(config.GetSection("Codebuff"));
        var connectionString = config.GetConnectionString("Default")
            ?? throw new StartupException("ConnectionStrings:Default is not set");

        var pooled = DatabaseOptions.ForInstance(connectionString, config);
        // Pooled contexts: a request's context is reset and reused rather than built (options, internal services)
        // anew, which cost more CPU than the query it then runs (bench/README.md, proxy section).
        services.AddDbContextPool<AppDbContext>(o => AppDbContext.Configure(o.ConfigureWarnings(w => w.Log(
            // A failed statement surfaces as an exception: the exception handler logs it once (or answers 503 for an
            // outage). EF's own Error entries would log it again, with a stack trace, for every failed request.
            (CoreEventId.QueryIterationFailed, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug),
            (RelationalEventId.CommandError, LogLevel.Debug), (RelationalEventId.ConnectionError, LogLevel.Debug),
            (RelationalEventId.TransactionError, LogLevel.Debug))), pooled), poolSize: ContextPoolSize);
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddExceptionHandler<DatabaseUnavailableHandler>();
        services.AddOpenApi();
        services.ConfigureHttpJsonOptions(o => JsonConfig.Apply(o.SerializerOptions));

        AddReadOnlyContext(services, config);
        services.AddSingleton(_ => SharedRateLimits.Create(connectionString));
        services.AddDataProtectionKeys(connectionString);
        services.AddHostedService<ExpiredRowSweeper>();
        services.AddHostedService<IdleMemoryTrim>();

        var secret = new AuthSecret(Secrets.LoadOrCreate(options.AuthSecret, options.DataDir, "auth.secret"));
        var byokKey = Secrets.LoadOrCreate(config["Codebuff:Byok:MasterKey"], options.DataDir, "byok.key");
        services.AddSingleton(new SecretFingerprints([("Codebuff:AuthSecret", secret.Value), ("Codebuff:Byok:MasterKey", byokKey)]));
        services.AddMail(config);
        services.AddAuth(config, secret, connectionString);
        services.AddBilling(config, options.DataDir);
        services.AddAgentRuns(config);
        services.AddChat(config, byokKey);
        services.AddAgents(config);
        services.AddPayments(config);
        services.AddOrgs(config);
        builder.AddDashboard();
        builder.AddTelemetry();
    }

    /// <summary>The context behind [FromKeyedServices(AppDbContext.ReadOnly)]: the replica if configured, else the primary one.</summary>
    static void AddReadOnlyContext(IServiceCollection services, IConfiguration config)
    {
        var replica = config.GetConnectionString("ReadOnly");
        if (string.IsNullOrWhiteSpace(replica))
        {
            services.AddKeyedScoped(AppDbContext.ReadOnly, (sp, _) => sp.GetRequiredService<AppDbContext>());
            return;
        }
        var options = new DbContextOptionsBuilder<AppDbContext>().UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking);
        AppDbContext.Configure(options, replica, "codebuff-read-only");
        services.AddKeyedScoped(AppDbContext.ReadOnly, (_, _) => new AppDbContext(options.Options));
    }

    static void MapEndpoints(WebApplication app)
    {
        app.MapOpenApi(); // /openapi/v1.json
        app.MapHealth();
        app.MapAuth();
        app.MapAgentRuns();
        app.MapChat();
        app.MapTools();
        app.MapAgents();
        app.MapUsage();
        app.MapReferrals();
        app.MapPayments();
        app.MapOrgs();
        app.MapEvals();
        app.MapDashboard();
        app.MapTelemetry();
    }
}
