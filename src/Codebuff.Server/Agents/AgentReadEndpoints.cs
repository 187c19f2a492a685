namespace Codebuff.Server.Agents;

/// <summary>Published agents by version (api.md §2.9, also under /api/v1 for the SDK), version lists and a publisher's agents.</summary>
public static class AgentReadEndpoints
{
    public static void MapAgentReads(this IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/api/agents", "/api/v1/agents" })
        {
            var agent = app.MapGroup(prefix + "/{publisherId}/{agentId}").RequirePublicReadLimit();
            // The literal "latest" segment outranks the {version} parameter in routing, as the spec requires.
            agent.MapGet("/latest", (string publisherId, string agentId, AppDbContext db, ILoggerFactory logs, CancellationToken ct) =>
                GetVersion(publisherId, agentId, null, db, logs, ct)).Answers<AgentVersionView>().Refuses(404, 429, 500);
            agent.MapGet("/{version}", (string publisherId, string agentId, string version, AppDbContext db, ILoggerFactory logs, CancellationToken ct) =>
                GetVersion(publisherId, agentId, version, db, logs, ct)).Answers<AgentVersionView>().Refuses(404, 429, 500);
        }
        app.MapGet("/api/agents/{publisherId}/{agentId}", ListVersions).Answers<VersionList>().Refuses(404, 429).RequirePublicReadLimit();
        app.MapGet("/api/agents/{publisherId}/{agentId}/{version}/stats", GetVersionStats).Answers<AgentVersionStats.Stats>().Refuses(400, 404, 429).RequirePublicReadLimit();
        app.MapGet("/api/publishers/{publisherId}/agents", ListPublisherAgents).Answers<PublisherAgents>().Refuses(404, 429).RequirePublicReadLimit();
        app.MapGet("/api/agents", StoreListing.GetAsync).Answers<IEnumerable<StoreListing.StoreAgent>>().Refuses(400, 429).RequirePublicReadLimit();
        app.MapGet("/api/agents/metrics", StoreMetrics.GetAsync).Answers<IReadOnlyDictionary<string, StoreMetrics.AgentMetrics>>().Refuses(429).RequirePublicReadLimit();
    }

    public sealed record AgentVersionView(string Id, string Version, string PublisherId, JsonNode? Data, DateTime CreatedAt, DateTime UpdatedAt);
    public sealed record VersionEntry(string Version, bool IsLatest, string? DisplayName, DateTime CreatedAt, DateTime UpdatedAt, int Runs, decimal Credits);
    public sealed record VersionList(string PublisherId, string AgentId, IReadOnlyList<VersionEntry> Versions);
    public sealed record PublisherAgent(string Id, string? DisplayName, string? Description, string LatestVersion, int VersionCount, DateTime CreatedAt,
        DateTime UpdatedAt);
    public sealed record PublisherAgents(string PublisherId, IReadOnlyList<PublisherAgent> Agents);

    static async Task<Results<Ok<AgentVersionView>, ErrorResult>> GetVersion(string publisherId, string agentId, string? version, AppDbContext db, ILoggerFactory logs, CancellationToken ct)
    {
        try
        {
            if (!await db.Publishers.AnyAsync(p => p.Id == publisherId, ct))
                return Errors.Error(404, "Publisher not found");
            var row = await FindVersionAsync(db, publisherId, agentId, version, ct);
            if (row is null) return Errors.Error(404, "Agent not found");
            return TypedResults.Ok(new AgentVersionView(row.Id, row.Version, publisherId, JsonNode.Parse(row.Data), row.CreatedAt, row.UpdatedAt));
        }
        catch (Exception e) when (e is not OperationCanceledException && !DatabaseUnavailable.Is(e))
        {
            logs.CreateLogger(typeof(AgentReadEndpoints)).LogError(e, "agent lookup failed");
            return Errors.InternalError();
        }
    }

    /// <summary>One published version, or the latest when <paramref name="version"/> is null.</summary>
    public static async Task<AgentConfig?> FindVersionAsync(AppDbContext db, string publisherId, string agentId, string? version, CancellationToken ct) =>
        version is null
            ? await AgentVersion.LatestRowAsync(db, publisherId, agentId, ct)
            : await db.AgentConfigs.AsNoTracking().FirstOrDefaultAsync(a => a.PublisherId == publisherId && a.Id == agentId && a.Version == version, ct);

    static async Task<Results<Ok<VersionList>, ErrorResult>> ListVersions(string publisherId, string agentId, [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, CancellationToken ct)
    {
        if (!await db.Publishers.AnyAsync(p => p.Id == publisherId, ct))
            return Errors.Error(404, "Publisher not found");
        return await VersionsAsync(db, publisherId, agentId, ct) is { } list ? TypedResults.Ok(list) : Errors.Error(404, "Agent not found");
    }

    /// <summary>Every version of one agent, newest first, with its completed runs and credits; null when it has none.</summary>
    public static async Task<VersionList?> VersionsAsync(AppDbContext db, string publisherId, string agentId, CancellationToken ct)
    {
        var rows = await AgentVersion.NewestFirst(db.AgentConfigs.AsNoTracking().Where(a => a.PublisherId == publisherId && a.Id == agentId))
            .Select(a => new { a.Version, a.CreatedAt, a.UpdatedAt, a.Data })
            .ToListAsync(ct);
        if (rows.Count == 0) return null;

        var usage = await AgentVersionStats.PerVersionAsync(db, publisherId, agentId, ct);

        return new VersionList(publisherId, agentId, rows.Select((r, i) => new VersionEntry(
            r.Version, IsLatest: i == 0, (string?)JsonNode.Parse(r.Data)?["displayName"], r.CreatedAt, r.UpdatedAt,
            Runs: usage.TryGetValue(r.Version, out var u) ? (int)u.Runs : 0,
            Credits: usage.TryGetValue(r.Version, out var c) ? c.Credits : 0)).ToList());
    }

    /// <summary>One version's runs and credits, all-time and per day over the last 30 days (?days=1..365).</summary>
    static async Task<Results<Ok<AgentVersionStats.Stats>, ErrorResult>> GetVersionStats(string publisherId, string agentId, string version, int? days,
        [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (days is < 1 or > 365) return Errors.Error(400, "days must be an integer from 1 to 365");
        if (!await db.AgentConfigs.AnyAsync(a => a.PublisherId == publisherId && a.Id == agentId && a.Version == version, ct))
            return Errors.Error(404, "Agent not found");
        var since = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(1 - (days ?? 30));
        return TypedResults.Ok(await AgentVersionStats.ForVersionAsync(db, publisherId, agentId, version, since, ct));
    }

    static async Task<Results<Ok<PublisherAgents>, ErrorResult>> ListPublisherAgents(string publisherId, [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, CancellationToken ct)
    {
        if (!await db.Publishers.AnyAsync(p => p.Id == publisherId, ct))
            return Errors.Error(404, "Publisher not found");
        return TypedResults.Ok(new PublisherAgents(publisherId, await PublisherAgentsAsync(db, publisherId, ct)));
    }

    /// <summary>A publisher's agents, one entry per agent id with its latest version (the /publishers/{id} page).</summary>
    public static async Task<List<PublisherAgent>> PublisherAgentsAsync(AppDbContext db, string publisherId, CancellationToken ct)
    {
        var rows = await AgentVersion.ThenNewestFirst(db.AgentConfigs.AsNoTracking().Where(a => a.PublisherId == publisherId).OrderBy(a => a.Id))
            .Select(a => new { a.Id, a.Version, a.CreatedAt, a.Data })
            .ToListAsync(ct);
        return rows.GroupBy(r => r.Id).Select(g =>
        {
            var latest = g.First();
            var data = JsonNode.Parse(latest.Data);
            return new PublisherAgent(g.Key, (string?)data?["displayName"], Description: (string?)data?["spawnerPrompt"], latest.Version,
                g.Count(), g.Min(r => r.CreatedAt), UpdatedAt: latest.CreatedAt);
        }).ToList();
    }
}
