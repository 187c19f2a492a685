namespace Codebuff.Server.Agents;

public static class AgentsSetup
{
    /// <summary>Codebuff:SeedBuiltinAgents (default true) publishes the built-in agents at start.</summary>
    public static void AddAgents(this IServiceCollection services, IConfiguration config)
    {
        if (config.GetValue("Codebuff:SeedBuiltinAgents", true)) services.AddHostedService<BuiltinAgentSeeder>();
        services.AddSingleton<StoreSnapshot>();
        services.AddPublicReadLimits(config);
    }

    public static void MapAgents(this IEndpointRouteBuilder app)
    {
        app.MapPublishers();
        app.MapAgentPublishing();
        app.MapAgentReads();
    }
}
