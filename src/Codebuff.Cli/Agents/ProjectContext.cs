using Codebuff.Cli.Tools;
using Codebuff.Cli.Tools.Mcp;

namespace Codebuff.Cli.Agents;

/// <summary>
/// What a prompt's agents know and reach beyond their own definitions: the knowledge files, the skills and the MCP
/// servers of <c>.agents/mcp.json</c>, read afresh for each prompt (an agent may have edited them), and the
/// environment that <c>"$VAR"</c> values of MCP configurations are read from.
/// </summary>
public sealed record ProjectContext(Knowledge Knowledge, IReadOnlyDictionary<string, Skill> Skills,
    IReadOnlyDictionary<string, McpServerConfig> McpServers, Func<string, string?> Env)
{
    public static ProjectContext Empty { get; } = new(Knowledge.None, new Dictionary<string, Skill>(), new Dictionary<string, McpServerConfig>(), _ => null);

    public static ProjectContext Load(CliHost host, ProjectFiles files) => new(
        LoadKnowledge(host, files),
        Agents.Skills.Load(files.Root, host.Home),
        McpServerConfig.LoadFiles(files.Root, host.Home),
        host.Env);

    /// <summary>The knowledge seen from where the CLI was started: from the project root down to the current folder when that is inside it.</summary>
    public static Knowledge LoadKnowledge(CliHost host, ProjectFiles files) => Knowledge.Load(files, host.CurrentDirectory, host.Home);
}
