using System.Text.Json;
using System.Text.Json.Nodes;

namespace Codebuff.Cli.Agents;

/// <summary>
/// An agent definition with the spec's field names (clients.md §2.10), kept as the JSON it came in so publishing
/// sends exactly what the file says; the properties read the fields the agent loop needs.
/// </summary>
public sealed class AgentDefinition(JsonObject data, string? sourcePath = null)
{
    public JsonObject Data { get; } = data;
    /// <summary>The file it was loaded from, or null for a published definition.</summary>
    public string? SourcePath { get; } = sourcePath;

    public string Id => Str("id") ?? "";
    public string? Publisher => Str("publisher");
    public string? Version => Str("version");
    public string DisplayName => Str("displayName") ?? Id;
    public string Model => Str("model") ?? "";
    public string SystemPrompt => Str("systemPrompt") ?? "";
    public string InstructionsPrompt => Str("instructionsPrompt") ?? "";
    public string StepPrompt => Str("stepPrompt") ?? "";
    public string? SpawnerPrompt => Str("spawnerPrompt");
    public string OutputMode => Str("outputMode") ?? "last_message";
    public string? HandleSteps => Str("handleSteps");
    public bool IncludeMessageHistory => Data["includeMessageHistory"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
    public bool InheritParentSystemPrompt => Data["inheritParentSystemPrompt"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
    public IReadOnlyList<string> ToolNames => Strings("toolNames");
    public IReadOnlyList<string> SpawnableAgents => Strings("spawnableAgents");
    public JsonObject? ProviderOptions => Data["providerOptions"] as JsonObject;
    public JsonObject? ReasoningOptions => Data["reasoningOptions"] as JsonObject;

    /// <summary>The id the run is STARTed under: <c>publisher/id@version</c> when published, the bare id when local.</summary>
    public string TemplateId => SourcePath is null && Publisher is not null && Version is not null ? $"{Publisher}/{Id}@{Version}" : Id;

    string? Str(string name) => Data[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    IReadOnlyList<string> Strings(string name) => Data[name] is JsonArray a
        ? a.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>()).ToArray()
        : [];
}

/// <summary>An agent reference: <c>id</c>, <c>publisher/id</c> or <c>publisher/id@version</c>.</summary>
public sealed record AgentRef(string? Publisher, string Id, string? Version)
{
    public static AgentRef Parse(string text)
    {
        var at = text.LastIndexOf('@');
        var version = at > 0 ? text[(at + 1)..] : null;
        var path = at > 0 ? text[..at] : text;
        var slash = path.IndexOf('/');
        return slash > 0 ? new AgentRef(path[..slash], path[(slash + 1)..], version) : new AgentRef(null, path, version);
    }

    public override string ToString() => $"{(Publisher is null ? "" : Publisher + "/")}{Id}{(Version is null ? "" : "@" + Version)}";
}
