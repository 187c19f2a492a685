using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Codebuff.Cli.Agents;
using Codebuff.Cli.Runs;
using ModelContextProtocol.Protocol;

namespace Codebuff.Cli.Tools.Mcp;

/// <summary>
/// The MCP tools of one agent's run. The servers it uses start when the run starts and stop when it ends: its own
/// <c>mcpServers</c>, the <c>.agents/mcp.json</c> servers its <c>toolNames</c> name (<c>server</c> or
/// <c>server/tool</c>), and, for agents whose id starts with <c>base</c>, every mcp.json server (upstream merges them
/// into those). A server's tools are offered as <c>server__tool</c>: only the ones named by <c>server/tool</c> entries
/// when there are such entries, else all of them. A server that cannot start is reported and left out; the run goes on.
/// A server the user did not write in ~/.agents/mcp.json is asked about first (a cloned repository could otherwise send
/// the user's tokens anywhere); one of the user's own is asked about only when it is a command that would run unsandboxed.
/// </summary>
public sealed partial class McpTools : IAsyncDisposable
{
    public const string Separator = "__";

    [GeneratedRegex("[^A-Za-z0-9_-]")]
    private static partial Regex NotInToolName();

    readonly List<McpConnection> _connections = [];
    readonly Dictionary<string, (McpConnection Server, string Tool)> _tools = new(StringComparer.Ordinal);

    public static McpTools None => new();

    /// <summary>The function tools to add to the agent's chat requests.</summary>
    public JsonArray Definitions { get; } = [];

    public bool Offers(string toolName) => _tools.ContainsKey(toolName);

    /// <summary>The servers <paramref name="agent"/> uses, by name (its own definitions win over mcp.json's).</summary>
    public static IReadOnlyDictionary<string, McpServerConfig> ServersOf(AgentDefinition agent, IReadOnlyDictionary<string, McpServerConfig> fromFiles)
    {
        var servers = new Dictionary<string, McpServerConfig>(StringComparer.Ordinal);
        var named = agent.ToolNames.Select(t => t.Split('/', 2)[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, config) in fromFiles)
            if (named.Contains(name) || agent.Id.StartsWith("base", StringComparison.Ordinal)) servers[name] = config;
        foreach (var (name, config) in McpServerConfig.FromAgent(agent.Data, agent.Id)) servers[name] = config;
        return servers;
    }

    public static async Task<McpTools> StartAsync(RunSession session, AgentDefinition agent, string agentId, CancellationToken ct)
    {
        var tools = new McpTools();
        var servers = ServersOf(agent, session.Context.McpServers);
        if (servers.Count == 0) return tools;
        try
        {
            var started = await Task.WhenAll(servers.Values.Select(async config =>
            {
                try
                {
                    var approval = session.Options.Commands;
                    var refusal = !config.WrittenByUser ? await approval.ServerRefusalAsync(session.Prompter, config, ct)
                        : config.IsStdio ? await approval.RefusalAsync(session.Prompter, config.Describe(), $"the project (MCP server {config.Name})", ct)
                        : null;
                    if (refusal is not null) throw new CliException($"The MCP server \"{config.Name}\" was not started: {refusal}");
                    return (config, connection: await McpConnection.StartAsync(config, session.Options.Commands.Sandbox, session.Files.Root, session.Context.Env, ct), error: (string?)null);
                }
                catch (CliException e)
                {
                    return (config, connection: (McpConnection?)null, error: e.Message);
                }
            }));
            foreach (var (config, connection, error) in started)
            {
                if (connection is not null) tools._connections.Add(connection);
                var offered = connection is null ? [] : await tools.AddToolsAsync(connection, Selected(agent, config.Name), ct);
                session.Emit(new McpServerStarted(agentId, config.Name, config.Type, offered, error));
            }
            return tools;
        }
        catch
        {
            await tools.DisposeAsync();
            throw;
        }
    }

    /// <summary>The tools picked by <c>server/tool</c> entries; null (all) when there are none.</summary>
    static HashSet<string>? Selected(AgentDefinition agent, string server)
    {
        var picked = agent.ToolNames.Where(t => t.StartsWith(server + "/", StringComparison.Ordinal)).Select(t => t[(server.Length + 1)..]).ToHashSet(StringComparer.Ordinal);
        return picked.Count == 0 || agent.ToolNames.Contains(server) ? null : picked;
    }

    async Task<IReadOnlyList<string>> AddToolsAsync(McpConnection connection, HashSet<string>? selected, CancellationToken ct)
    {
        var offered = new List<string>();
        foreach (var tool in await connection.Client.ListToolsAsync(cancellationToken: ct))
        {
            if (selected is not null && !selected.Contains(tool.Name)) continue;
            var name = NotInToolName().Replace(connection.Config.Name, "_") + Separator + NotInToolName().Replace(tool.Name, "_");
            if (name.Length > 64 || !_tools.TryAdd(name, (connection, tool.Name))) continue;
            Definitions.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = name,
                    ["description"] = $"{tool.Description} (tool {tool.Name} of the MCP server {connection.Config.Name})".Trim(),
                    ["parameters"] = JsonNode.Parse(tool.ProtocolTool.InputSchema.GetRawText()),
                },
            });
            offered.Add(name);
        }
        return offered;
    }

    /// <summary>Calls the tool; its text content is the result, an error result or a failed call an <c>errorMessage</c>.</summary>
    public async Task<JsonNode> CallAsync(string toolName, JsonObject input, CancellationToken ct)
    {
        var (server, tool) = _tools[toolName];
        CallToolResult result;
        try
        {
            var arguments = input.ToDictionary(kv => kv.Key, kv => (object?)JsonSerializer.SerializeToElement(kv.Value));
            result = await server.Client.CallToolAsync(tool, arguments, cancellationToken: ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            return new JsonObject { ["errorMessage"] = $"The MCP server {server.Config.Name} failed the call of {tool}: {e.Message}" };
        }
        var text = LocalTools.Truncate(string.Join('\n', result.Content.Select(c => c switch
        {
            TextContentBlock t => t.Text,
            _ => $"[{c.Type} content omitted]",
        })));
        if (result.IsError == true) return new JsonObject { ["errorMessage"] = text };
        var output = new JsonObject { ["content"] = text };
        if (result.StructuredContent is { } structured) output["structuredContent"] = JsonSerializer.SerializeToNode(structured);
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_connections.Select(c => c.DisposeAsync().AsTask()));
        _connections.Clear();
    }
}
