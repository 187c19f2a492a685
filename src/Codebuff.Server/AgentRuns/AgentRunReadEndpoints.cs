namespace Codebuff.Server.AgentRuns;

/// <summary>The caller's runs (GET /api/runs?cursor=&amp;limit=) and one run's trace tree (GET /api/runs/{runId}/trace), over RunQueries.</summary>
public static class AgentRunReadEndpoints
{
    public static void MapAgentRunReads(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        runs.MapGet("", List).Answers<RunQueries.Page>().Refuses(400);
        runs.MapGet("/{runId}/trace", GetTrace).Answers<RunQueries.Trace>().Refuses(404);
    }

    static async Task<Results<Ok<RunQueries.Page>, ErrorResult>> List(Caller caller, string? cursor, int? limit, [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, CancellationToken ct)
    {
        if (limit is < 1 or > 100) return Errors.Error(400, "limit must be an integer from 1 to 100");
        if (!RunQueries.IsCursor(cursor)) return Errors.Error(400, "cursor is not one this route returned");
        return TypedResults.Ok(await RunQueries.UserRunsAsync(db, caller.Required.Id, cursor, limit ?? 50, ct));
    }

    static async Task<Results<Ok<RunQueries.Trace>, ErrorResult>> GetTrace(Caller caller, string runId, [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, CancellationToken ct) =>
        await RunQueries.TraceAsync(db, caller.Required.Id, runId, ct) is { } trace ? TypedResults.Ok(trace) : Errors.Error(404, "Agent run not found");
}
