namespace Codebuff.Server.Evals;

/// <summary>
/// Results of the git evaluation suite (git_eval_results): written by site admins through POST /api/git-evals, listed
/// on the public /evals page. Only results marked public are shown to everyone; site admins see all of them.
/// </summary>
public static class GitEvalResults
{
    /// <summary>The row as upstream answers it (snake_case columns, metadata as stored).</summary>
    public sealed record View(
        string Id,
        [property: JsonPropertyName("cost_mode")] string? CostMode,
        [property: JsonPropertyName("reasoner_model")] string? ReasonerModel,
        [property: JsonPropertyName("agent_model")] string? AgentModel,
        JsonObject? Metadata, int Cost,
        [property: JsonPropertyName("is_public")] bool IsPublic,
        [property: JsonPropertyName("created_at")] DateTime CreatedAt);

    /// <summary>A checked body (see GitEvalEndpoints).</summary>
    public sealed record NewResult(string? CostMode, string? ReasonerModel, string? AgentModel, JsonObject? Metadata, int Cost, bool IsPublic);

    public static async Task<View> CreateAsync(AppDbContext db, TimeProvider clock, NewResult r, CancellationToken ct)
    {
        var row = new GitEvalResult
        {
            Id = Guid.NewGuid().ToString(), CostMode = r.CostMode, ReasonerModel = r.ReasonerModel, AgentModel = r.AgentModel,
            Metadata = r.Metadata?.ToJsonString(), Cost = r.Cost, IsPublic = r.IsPublic, CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.GitEvalResults.Add(row);
        await db.SaveChangesAsync(ct);
        return ToView(row);
    }

    /// <summary>Newest first; private results only for site admins.</summary>
    public static async Task<List<View>> ListAsync(AppDbContext db, bool includePrivate, int limit, CancellationToken ct)
    {
        var rows = await db.GitEvalResults.AsNoTracking().Where(r => includePrivate || r.IsPublic)
            .OrderByDescending(r => r.CreatedAt).ThenBy(r => r.Id).Take(limit).ToListAsync(ct);
        return rows.Select(ToView).ToList();
    }

    static View ToView(GitEvalResult r) => new(r.Id, r.CostMode, r.ReasonerModel, r.AgentModel,
        r.Metadata is null ? null : JsonNode.Parse(r.Metadata) as JsonObject, r.Cost, r.IsPublic, DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc));
}
