namespace Codebuff.Server.Agents;

/// <summary>An entry of "validationErrors": filePath is the definition's key (its id) or the spawnable ref; path locates the field.</summary>
public sealed record AgentValidationError(
    string FilePath,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Path = null);

public sealed record ValidatedAgent(string Key, JsonObject Template);

public sealed record AgentValidationResult(List<ValidatedAgent> Valid, List<AgentValidationError> Errors);

/// <summary>The validation algorithm shared by POST /api/agents/validate and publishing (api.md §2.10).</summary>
public static class AgentValidation
{
    /// <summary>
    /// Keys definitions by id (a later duplicate replaces an earlier one, as upstream's object keying does). A definition
    /// without a string id gets its array position as key — [our choice], so that every broken definition is reported.
    /// </summary>
    public static List<(string Key, JsonNode? Definition)> KeyById(JsonArray definitions, string arrayName)
    {
        var keyed = new List<(string Key, JsonNode? Definition)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < definitions.Count; i++)
        {
            var def = definitions[i];
            var key = def is JsonObject o && o["id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : $"{arrayName}[{i}]";
            if (index.TryGetValue(key, out var at)) keyed[at] = (key, def);
            else { index[key] = keyed.Count; keyed.Add((key, def)); }
        }
        return keyed;
    }

    public static async Task<AgentValidationResult> ValidateAsync(AppDbContext db, List<(string Key, JsonNode? Definition)> definitions,
        IReadOnlyCollection<string> allLocalAgentIds, CancellationToken ct)
    {
        var spawnErrors = await CheckSpawnableAsync(db, definitions, allLocalAgentIds, ct);
        if (spawnErrors.Count > 0) return new([], spawnErrors);

        var valid = new List<ValidatedAgent>();
        var errors = new List<AgentValidationError>();
        foreach (var (key, definition) in definitions)
        {
            var issues = new List<SchemaIssue>();
            var template = AgentDefinitionSchema.Normalise(definition, issues);
            if (template is not null) { valid.Add(new(key, template)); continue; }
            var context = Context(definition, key);
            foreach (var issue in issues)
            {
                var where = issue.Path.Length > 0 ? $"{issue.Path}: " : "";
                var message = issue.Schema ? $"{context}: Schema validation failed: {where}{issue.Message}" : $"{context}: {issue.Message}";
                errors.Add(new(key, message, issue.Path));
            }
        }
        return new(valid, errors);
    }

    static string Context(JsonNode? definition, string key)
    {
        var o = definition as JsonObject;
        var id = o?["id"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
        if (id is null) return $"Agent in {key}";
        var name = o?["displayName"] is JsonValue d && d.TryGetValue<string>(out var dn) && dn.Length > 0 ? $" ({dn})" : "";
        return $"Agent \"{id}\"{name}";
    }

    /// <summary>Step 2 of §2.10: every spawnable ref must be built in, local, or a published publisher/agent@version.</summary>
    static async Task<List<AgentValidationError>> CheckSpawnableAsync(AppDbContext db, List<(string Key, JsonNode? Definition)> definitions,
        IReadOnlyCollection<string> allLocalAgentIds, CancellationToken ct)
    {
        var known = new HashSet<string>(KnownTools.BuiltinAgentTypes, StringComparer.Ordinal);
        known.UnionWith(BuiltinAgents.Ids);
        known.UnionWith(allLocalAgentIds);
        var refs = new List<string>();
        foreach (var (_, definition) in definitions)
        {
            if (definition is not JsonObject o) continue;
            if (o["id"] is JsonValue v && v.TryGetValue<string>(out var id)) known.Add(id);
            var list = o.ContainsKey("spawnableAgents") || !o.ContainsKey("subagents") ? o["spawnableAgents"] : o["subagents"];
            if (list is JsonArray a)
                foreach (var item in a)
                    if (item is JsonValue iv && iv.TryGetValue<string>(out var r)) refs.Add(r);
        }

        var errors = new List<AgentValidationError>();
        foreach (var r in refs.Distinct(StringComparer.Ordinal))
        {
            if (known.Contains(r)) continue;
            if (AgentRef.Parse(r) is not { Publisher: { } pub, Version: { } version } parsed)
            {
                errors.Add(new(r, $"Invalid agent ID: {r}. Not found. You must include the publisher, agent id, and version if the agent is not defined locally."));
                continue;
            }
            var exists = version == "latest"
                ? await db.AgentConfigs.AnyAsync(a => a.PublisherId == pub && a.Id == parsed.AgentId, ct)
                : await db.AgentConfigs.AnyAsync(a => a.PublisherId == pub && a.Id == parsed.AgentId && a.Version == version, ct);
            if (!exists) errors.Add(new(r, $"Invalid agent ID: {r}. Agent not found in database."));
        }
        return errors;
    }
}

/// <summary>An agent reference as the SDK parses it: "id", "id@version", "publisher/id" or "publisher/id@version".</summary>
public sealed record AgentRef(string? Publisher, string AgentId, string? Version)
{
    public static AgentRef? Parse(string value)
    {
        var parts = value.Split('/');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0)) return null;
        var (publisher, rest) = parts.Length == 2 ? (parts[0], parts[1]) : ((string?)null, parts[0]);
        // Like the SDK's /^(.+)@(.+)$/: the id runs to the last '@'.
        var at = rest.LastIndexOf('@');
        return at > 0 && at < rest.Length - 1 ? new(publisher, rest[..at], rest[(at + 1)..]) : new(publisher, rest, null);
    }
}
