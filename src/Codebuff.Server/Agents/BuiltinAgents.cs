using System.Reflection;

namespace Codebuff.Server.Agents;

/// <summary>
/// The default agent set (clients.md §3), kept as JSON resources in this folder and published under the codebuff
/// publisher, so that the SDK's bare ids ("base" → GET /api/v1/agents/codebuff/base/latest) resolve.
/// </summary>
public static class BuiltinAgents
{
    public const string SystemUserEmail = "system@codebuff.local";
    const string ResourcePrefix = "Codebuff.Server.Agents.Builtin.";
    // Serialises seeding across servers sharing one database (pg_advisory_xact_lock key).
    const long SeedLockKey = 0x636f_6465_6275_6601;

    static readonly Lazy<IReadOnlyList<JsonObject>> Loaded = new(() =>
    {
        var assembly = Assembly.GetExecutingAssembly();
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                return JsonNode.Parse(stream) as JsonObject ?? throw new InvalidOperationException($"built-in agent {n} is not a JSON object");
            })
            .ToList();
    });

    public static IReadOnlyList<JsonObject> Definitions => Loaded.Value;

    public static IReadOnlyList<string> Ids { get; } = Definitions.Select(d => (string)d["id"]!).ToList();

    /// <summary>
    /// Creates the system user and the codebuff publisher if missing, and publishes each built-in whose normalised
    /// definition differs from its latest published version (next patch). Running it again changes nothing.
    /// </summary>
    /// <returns>The ids published by this call.</returns>
    public static async Task<IReadOnlyList<string>> SeedAsync(AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_xact_lock({0})", [SeedLockKey], ct);

        var system = await db.Users.FirstOrDefaultAsync(u => u.Email == SystemUserEmail, ct);
        if (system is null)
        {
            system = new User { Id = Guid.NewGuid().ToString(), Email = SystemUserEmail, Name = "Codebuff", CreatedAt = now };
            db.Users.Add(system);
        }
        if (!await db.Publishers.AnyAsync(p => p.Id == AgentPublishing.DefaultPublisher, ct))
        {
            db.Publishers.Add(new Publisher
            {
                Id = AgentPublishing.DefaultPublisher, Name = "Codebuff", Verified = true, UserId = system.Id, CreatedBy = system.Id,
                Bio = "The agents that ship with Codebuff.", CreatedAt = now, UpdatedAt = now,
            });
        }
        await db.SaveChangesAsync(ct);

        var keyed = Definitions.Select(d => ((string)d["id"]!, (JsonNode?)d.DeepClone())).ToList();
        var validation = await AgentValidation.ValidateAsync(db, keyed, [], ct);
        if (validation.Errors.Count > 0)
            throw new InvalidOperationException("invalid built-in agent definitions: " + string.Join("; ", validation.Errors.Select(e => e.Message)));
        var templates = validation.Valid.Select(v => v.Template).ToList();

        var latest = new Dictionary<string, AgentConfig>(StringComparer.Ordinal);
        foreach (var t in templates)
            if (await AgentVersion.LatestRowAsync(db, AgentPublishing.DefaultPublisher, (string)t["id"]!, ct) is { } row)
                latest[row.Id] = row;

        // A changed agent gets a new version, which changes the spawnableAgents refs of the agents that spawn it:
        // repeat until the set of changed agents stops growing.
        var changed = templates.Select(t => (string)t["id"]!).Where(id => !latest.ContainsKey(id)).ToHashSet(StringComparer.Ordinal);
        List<PlannedAgent> plan;
        while (true)
        {
            plan = templates.Select(t =>
            {
                var id = (string)t["id"]!;
                var current = latest.TryGetValue(id, out var row) ? AgentVersion.Of(row) : (AgentVersion?)null;
                var version = changed.Contains(id) ? AgentVersion.Next(current, null).Version : current!.Value;
                var data = (JsonObject)t.DeepClone();
                data["version"] = version.ToString();
                return new PlannedAgent(id, version, data);
            }).ToList();
            if (await AgentPublishing.ResolveSpawnablesAsync(db, AgentPublishing.DefaultPublisher, plan, ct) is { } failure)
                throw new InvalidOperationException($"built-in agents: {failure.Message}: {failure.Details}");
            var grown = plan.Where(p => !changed.Contains(p.Id) && !JsonNode.DeepEquals(p.Data, JsonNode.Parse(latest[p.Id].Data))).Select(p => p.Id).ToList();
            if (grown.Count == 0) break;
            changed.UnionWith(grown);
        }

        var toInsert = plan.Where(p => changed.Contains(p.Id)).ToList();
        if (toInsert.Count > 0 && await AgentPublishing.InsertAsync(db, AgentPublishing.DefaultPublisher, toInsert, now, ct) is { } conflict)
            throw new InvalidOperationException($"built-in agents: {conflict.Message}: {conflict.Details}");
        await tx.CommitAsync(ct);
        return toInsert.Select(p => p.Id).ToList();
    }
}
