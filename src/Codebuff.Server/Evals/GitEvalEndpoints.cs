using Codebuff.Server.Orgs;

namespace Codebuff.Server.Evals;

/// <summary>
/// POST /api/git-evals (site admins): records one evaluation result. The body names git_eval_results' writable columns
/// (id and created_at are the server's); metadata is an object whose known keys (schema.md §3.16) are type-checked.
/// Every bad field is reported at once as a zod tree, and nothing is written.
/// </summary>
public static class GitEvalEndpoints
{
    public static void MapEvals(this IEndpointRouteBuilder app)
    {
        var evals = app.MapGroup("/api/git-evals").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).RequireSiteAdmin();
        evals.MapPost("", Create).Takes<CreateRequest>().Answers<GitEvalResults.View>(201).RefusesWith<ErrorDetailsBody>(400).Refuses(403);
    }

    public sealed record Metadata(int? NumCases, double? AvgScore, double? AvgCompletion, double? AvgEfficiency, double? AvgCodeQuality,
        double? AvgDuration, string? Suite, double? AvgTurns);

    public sealed record CreateRequest(
        [property: JsonPropertyName("cost_mode")] string? CostMode,
        [property: JsonPropertyName("reasoner_model")] string? ReasonerModel,
        [property: JsonPropertyName("agent_model")] string? AgentModel,
        Metadata? Metadata, int? Cost,
        [property: JsonPropertyName("is_public")] bool? IsPublic);

    static readonly string[] Columns = ["cost_mode", "reasoner_model", "agent_model", "metadata", "cost", "is_public"];
    static readonly string[] Averages = ["avgScore", "avgCompletion", "avgEfficiency", "avgCodeQuality", "avgDuration", "avgTurns"];

    static async Task<Results<Created<GitEvalResults.View>, ErrorResult, DetailsResult>> Create(HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJson();

        var errors = new BodyErrors();
        errors.OnlyKeys(body, Columns);
        var costMode = errors.String(body, "cost_mode", required: false);
        var reasoner = errors.String(body, "reasoner_model", required: false);
        var agent = errors.String(body, "agent_model", required: false);
        var cost = errors.Number(body, "cost", required: false, 0, int.MaxValue, integer: true);
        var isPublic = errors.Boolean(body, "is_public");
        var metadata = errors.Object(body, "metadata");
        if (metadata is not null)
        {
            // Checked with the metadata's own errors nested under "metadata".
            var inner = new BodyErrors();
            inner.Number(metadata, "numCases", required: false, 0, int.MaxValue, integer: true);
            foreach (var name in Averages) inner.Number(metadata, name, required: false, decimal.MinValue, decimal.MaxValue);
            inner.String(metadata, "suite", required: false);
            foreach (var (path, message) in inner.Entries) errors.Add(message, ["metadata", .. path]);
        }
        if (errors.Any) return errors.ToResult();

        var created = await GitEvalResults.CreateAsync(db, clock,
            new GitEvalResults.NewResult(costMode, reasoner, agent, metadata, (int)(cost ?? 0), isPublic ?? false), ct);
        return TypedResults.Created((string?)null, created);
    }
}
