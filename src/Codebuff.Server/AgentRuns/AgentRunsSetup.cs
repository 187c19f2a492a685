namespace Codebuff.Server.AgentRuns;

public static class AgentRunsSetup
{
    /// <summary>The trace recorder (Codebuff:Traces), which writes agent steps' traces in the background.</summary>
    public static void AddAgentRuns(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<TraceOptions>(config.GetSection("Codebuff:Traces"));
        services.AddSingleton<TraceRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<TraceRecorder>());
    }

    public static void MapAgentRuns(this IEndpointRouteBuilder app)
    {
        app.MapAgentRunWrites();
        app.MapAgentRunReads();
    }
}
