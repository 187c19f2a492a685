using System.Collections.Concurrent;
using Codebuff.Cli.Api;

namespace Codebuff.Cli.Agents;

/// <summary>
/// Finds an agent's definition: a local <c>.agents/</c> definition with that id (when the reference's publisher and
/// version, if given, do not say otherwise), else the published one (a bare id means publisher <c>codebuff</c>) from
/// GET /api/v1/agents/{publisher}/{id}/{version|latest}.
/// </summary>
public sealed class AgentResolver(CodebuffApi api, IReadOnlyDictionary<string, AgentDefinition> local)
{
    readonly ConcurrentDictionary<string, Task<AgentDefinition>> _published = new();

    public IReadOnlyDictionary<string, AgentDefinition> Local => local;

    public async Task<AgentDefinition> ResolveAsync(string reference, CancellationToken ct)
    {
        var r = AgentRef.Parse(reference);
        if (local.TryGetValue(r.Id, out var mine) && (r.Publisher is null || mine.Publisher is null || r.Publisher == mine.Publisher)
            && (r.Version is null || mine.Version is null || r.Version == mine.Version))
            return mine;
        return await _published.GetOrAdd(reference, _ => FetchAsync(r, ct));
    }

    async Task<AgentDefinition> FetchAsync(AgentRef r, CancellationToken ct)
    {
        var publisher = r.Publisher ?? "codebuff";
        var found = await api.GetAgentAsync(publisher, r.Id, r.Version, ct)
            ?? throw new CliException($"No agent \"{r}\": it is not defined in .agents/ and {publisher}/{r.Id}{(r.Version is null ? "" : "@" + r.Version)} is not published on {api.AppUrl}.");
        var data = found.Data;
        data["publisher"] ??= found.PublisherId;
        data["version"] = found.Version;
        return new AgentDefinition(data);
    }
}
