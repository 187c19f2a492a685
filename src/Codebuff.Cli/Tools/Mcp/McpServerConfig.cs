using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Codebuff.Cli.Tools.Mcp;

/// <summary>
/// One MCP server as upstream configures it (@codebuff/sdk's mcpConfigSchema): stdio
/// <c>{type?:"stdio", command, args?, env?}</c> or remote <c>{type?:"http"|"sse", url, params?, headers?}</c>. Values of
/// <c>env</c>, <c>headers</c> and <c>params</c> written <c>"$NAME"</c> (or holding <c>${NAME}</c>) are read from the
/// environment when the server starts, so a token need not be written in the file.
/// </summary>
public sealed partial record McpServerConfig(string Name, string Type, string? Command, IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Env, string? Url, IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Headers, string Source)
{
    public bool IsStdio => Type == "stdio";

    /// <summary>True for a server of the user's own <c>~/.agents/mcp.json</c>. Every other one (a project's or its parent's
    /// mcp.json, an agent definition's, local or published) may come from a cloned repository and is asked about.</summary>
    public bool WrittenByUser { get; init; }

    /// <summary>The servers of <c>.agents/mcp.json</c> in the home folder, the project's parent and the project; the
    /// one nearest the project wins for a name (as for agent definitions).</summary>
    public static IReadOnlyDictionary<string, McpServerConfig> LoadFiles(string projectRoot, string home)
    {
        var servers = new Dictionary<string, McpServerConfig>(StringComparer.Ordinal);
        var dirs = new[] { home, Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(projectRoot)), projectRoot }.Where(d => d is not null).Distinct();
        foreach (var file in dirs.Select(d => Path.Combine(d!, ".agents", "mcp.json")).Where(File.Exists))
        {
            JsonNode? root;
            try { root = JsonNode.Parse(Agents.DefinitionFile.Read(file, Path.GetDirectoryName(file)!)); }
            catch (JsonException e) { throw new CliException($"{file} cannot be read: {e.Message}"); }
            if (root is not JsonObject o || o["mcpServers"] is not JsonObject list)
                throw new CliException($"{file} must be an object with \"mcpServers\": {{ \"name\": {{ \"command\": … }} }}.");
            var byUser = Path.GetDirectoryName(Path.GetDirectoryName(file)) == home;
            foreach (var (name, server) in list) servers[name] = Parse(name, server, file) with { WrittenByUser = byUser };
        }
        return servers;
    }

    /// <summary>An agent definition's own <c>mcpServers</c>.</summary>
    public static IReadOnlyDictionary<string, McpServerConfig> FromAgent(JsonObject definition, string agentId) =>
        definition["mcpServers"] is JsonObject list
            ? list.ToDictionary(kv => kv.Key, kv => Parse(kv.Key, kv.Value, $"the agent {agentId}"), StringComparer.Ordinal)
            : new Dictionary<string, McpServerConfig>();

    public static McpServerConfig Parse(string name, JsonNode? node, string source)
    {
        if (node is not JsonObject o) throw new CliException($"The MCP server \"{name}\" in {source} must be an object.");
        var type = Str(o, "type") ?? (o["url"] is not null ? "http" : "stdio");
        var config = new McpServerConfig(name, type, Str(o, "command"), Strings(o["args"]), Map(o["env"]), Str(o, "url"), Map(o["params"]), Map(o["headers"]), source);
        var problem = type switch
        {
            "stdio" when config.Command is not { Length: > 0 } => "needs a \"command\"",
            "http" or "sse" when !Uri.TryCreate(config.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") => "needs an http(s) \"url\"",
            not ("stdio" or "http" or "sse") => "has a \"type\" other than stdio, http or sse",
            _ => null,
        };
        return problem is null ? config : throw new CliException($"The MCP server \"{name}\" in {source} {problem}.");
    }

    /// <summary>A configured value read from the environment: all of it when it is <c>"$NAME"</c> (upstream's rule), or each
    /// <c>${NAME}</c> in it (so a header can be <c>"Bearer ${TOKEN}"</c>).</summary>
    public static string Resolve(string server, string field, string value, Func<string, string?> env)
    {
        string Read(string name) => env(name) ?? throw new CliException($"The MCP server \"{server}\" needs the environment variable {name} ({field}), which is not set.");
        if (WholeVariable().IsMatch(value)) return Read(value[1..]);
        return EmbeddedVariable().Replace(value, m => Read(m.Groups[1].Value));
    }

    [GeneratedRegex(@"^\$[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex WholeVariable();

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EmbeddedVariable();

    /// <summary>The environment variables the server would read (<c>env</c>, <c>headers</c>, <c>params</c>).</summary>
    public IReadOnlyList<string> Variables => Env.Values.Concat(Headers.Values).Concat(Params.Values)
        .SelectMany(v => WholeVariable().IsMatch(v) ? [v[1..]] : EmbeddedVariable().Matches(v).Select(m => m.Groups[1].Value))
        .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>What the user approves: where it connects or what it runs, and which environment variables it gets.</summary>
    public string Approval() => $"{Describe()}{(Variables.Count == 0 ? "" : $", reading the environment variables {string.Join(", ", Variables)}")} (from {Source})";

    /// <summary>What the user reads in errors and when asked to approve a stdio server of their own.</summary>
    public string Describe() => IsStdio ? string.Join(' ', Args.Prepend(Command!).Select(a => a.Contains(' ') ? $"\"{a}\"" : a)) : $"{Type} {Url}";

    static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    static IReadOnlyList<string> Strings(JsonNode? node) => node is JsonArray a ? a.Select(n => n?.ToString() ?? "").ToArray() : [];

    static IReadOnlyDictionary<string, string> Map(JsonNode? node) => node is JsonObject o
        ? o.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "", StringComparer.Ordinal)
        : new Dictionary<string, string>();
}
