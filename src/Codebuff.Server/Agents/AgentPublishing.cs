namespace Codebuff.Server.Agents;

/// <summary>An agent_config row about to be written: the agent id, its chosen version and the stored template.</summary>
public sealed record PlannedAgent(string Id, AgentVersion Version, JsonObject Data);

/// <summary>Steps 8–10 of publishing (versions, sub-agent references, the all-or-nothing insert), shared by the route and the built-in seeding.</summary>
public static class AgentPublishing
{
    /// <summary>The publisher bare agent ids fall back to, as the SDK resolves "base" to codebuff/base.</summary>
    public const string DefaultPublisher = "codebuff";

    public const string SpawnableHint =
        "To fix this, also publish the referenced agent (include it in the same request's data array, or publish it first for the same publisher).";

    public static async Task<(List<PlannedAgent>? Plan, Refusal? Failure)> PlanVersionsAsync(AppDbContext db, string publisherId,
        IEnumerable<JsonObject> templates, CancellationToken ct)
    {
        var plan = new List<PlannedAgent>();
        foreach (var template in templates)
        {
            var id = (string)template["id"]!;
            var provided = template["version"]?.GetValue<string>();
            var latest = await AgentVersion.LatestAsync(db, publisherId, id, ct);
            var (version, error) = AgentVersion.Next(latest, provided);
            if (error is not null)
                return (null, new(400, "Version determination failed", $"Failed for agent '{id}': {error}"));
            var text = version.ToString();
            if (await db.AgentConfigs.AnyAsync(a => a.PublisherId == publisherId && a.Id == id && a.Version == text, ct))
                return (null, VersionExists(id, text, publisherId));
            var data = (JsonObject)template.DeepClone();
            data["version"] = text;
            plan.Add(new(id, version, data));
        }
        return (plan, null);
    }

    static Refusal VersionExists(string id, string version, string publisherId) =>
        new(409, "Version already exists", $"Agent '{id}' version '{version}' already exists for publisher '{publisherId}'");

    /// <summary>
    /// Rewrites every spawnableAgents entry to publisher/id@version: full refs are kept (and must exist when they name this
    /// publisher); "id" and "pub/id" take the batch's version or the latest published one. A bare id that neither the
    /// batch nor this publisher has falls back to the codebuff publisher — [our choice], matching how the SDK runs bare ids.
    /// </summary>
    public static async Task<Refusal?> ResolveSpawnablesAsync(AppDbContext db, string publisherId, List<PlannedAgent> plan, CancellationToken ct)
    {
        var batch = plan.ToDictionary(p => p.Id, p => p.Version.ToString(), StringComparer.Ordinal);
        var published = (await db.AgentConfigs.AsNoTracking().Where(a => a.PublisherId == publisherId).Select(a => new { a.Id, a.Version }).ToListAsync(ct))
            .Select(a => $"{publisherId}/{a.Id}@{a.Version}").ToHashSet(StringComparer.Ordinal);
        bool ExistsHere(string full) => published.Contains(full) || plan.Any(p => $"{publisherId}/{p.Id}@{p.Version}" == full);

        foreach (var agent in plan)
        {
            if (agent.Data["spawnableAgents"] is not JsonArray list || list.Count == 0) continue;
            var resolved = new JsonArray();
            foreach (var sub in list.Select(n => n!.GetValue<string>()))
            {
                var slash = sub.IndexOf('/');
                var at = sub.LastIndexOf('@');
                if (slash > 0 && at > slash + 1 && at < sub.Length - 1 && sub.IndexOf('/', slash + 1) < 0)
                {
                    if (sub[..slash] == publisherId && !ExistsHere(sub))
                        return Unresolvable($"Invalid spawnable agent: '{sub}' is not published and not included in this request.");
                    resolved.Add(sub);
                    continue;
                }

                var (targetPublisher, targetId) = slash > 0 ? (sub[..slash], sub[(slash + 1)..]) : (publisherId, sub);
                string? version = null;
                if (targetPublisher == publisherId && batch.TryGetValue(targetId, out var inBatch)) version = inBatch;
                else version = (await AgentVersion.LatestAsync(db, targetPublisher, targetId, ct))?.ToString();
                if (version is null && slash < 0 && publisherId != DefaultPublisher
                    && (await AgentVersion.LatestAsync(db, DefaultPublisher, targetId, ct))?.ToString() is { } builtin)
                    (targetPublisher, version) = (DefaultPublisher, builtin);
                if (version is null)
                    return Unresolvable($"Invalid spawnable agent: '{sub}' has no published versions to resolve to.");

                var full = $"{targetPublisher}/{targetId}@{version}";
                if (targetPublisher == publisherId && !ExistsHere(full))
                    return Unresolvable($"Invalid spawnable agent: '{sub}' resolves to '{full}' but is not published and not included in this request.");
                resolved.Add(full);
            }
            agent.Data["spawnableAgents"] = resolved;
        }
        return null;
    }

    static Refusal Unresolvable(string details) => new(400, "Invalid spawnable agent", details, SpawnableHint);

    /// <summary>
    /// Inserts every row in one transaction. A concurrent publish that took one of these versions first makes the primary
    /// key refuse the insert: that is the "Version already exists" 409, and nothing of this batch is written.
    /// </summary>
    public static async Task<Refusal?> InsertAsync(AppDbContext db, string publisherId, List<PlannedAgent> plan, DateTime now, CancellationToken ct)
    {
        // Joins the caller's transaction when there is one (seeding runs under its advisory lock).
        var own = db.Database.CurrentTransaction is null;
        await using var tx = own ? await db.Database.BeginTransactionAsync(ct) : null;
        var rows = plan.Select(p => new AgentConfig
        {
            Id = p.Id,
            Version = p.Version.ToString(),
            PublisherId = publisherId,
            Data = p.Data.ToJsonString(),
            CreatedAt = now,
            UpdatedAt = now,
        }).ToList();
        db.AgentConfigs.AddRange(rows);
        try
        {
            await db.SaveChangesAsync(ct);
            if (tx is not null) await tx.CommitAsync(ct);
            return null;
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            if (tx is null) throw;
            await tx.RollbackAsync(ct);
            foreach (var row in rows) db.Entry(row).State = EntityState.Detached;
            foreach (var p in plan)
            {
                var version = p.Version.ToString();
                if (await db.AgentConfigs.AnyAsync(a => a.PublisherId == publisherId && a.Id == p.Id && a.Version == version, ct))
                    return VersionExists(p.Id, version, publisherId);
            }
            return VersionExists(plan[0].Id, plan[0].Version.ToString(), publisherId);
        }
    }
}
