using System.Globalization;
using System.Text.Json.Nodes;
using Codebuff.Cli.Agents.Scripts;
using YamlDotNet.RepresentationModel;

namespace Codebuff.Cli.Agents;

/// <summary>
/// Definitions under <c>.agents/</c>: TypeScript/JavaScript as upstream writes them (Scripts/ScriptModules), and JSON or
/// YAML with the same field names (the .NET proposal of clients.md §2.10). Folders are read home first, then the
/// project's parent, then the project, so the definition nearest the project wins for an id. A file that fails to load
/// is a problem reported with its file and line; the other agents still load.
/// </summary>
public static class LocalAgents
{
    public sealed record Loaded(IReadOnlyDictionary<string, AgentDefinition> ById, IReadOnlyList<string> Problems);

    public static Loaded Load(string projectRoot, string home)
    {
        var byId = new Dictionary<string, AgentDefinition>(StringComparer.Ordinal);
        var problems = new List<string>();
        var folders = new[] { home, Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(projectRoot)), projectRoot }
            .Where(d => d is not null).Select(d => Path.Combine(d!, ".agents")).Distinct().Where(Directory.Exists);
        foreach (var folder in folders)
        {
            var (agents, found) = LoadFolder(folder, home);
            foreach (var definition in agents) byId[definition.Id] = definition;
            problems.AddRange(found);
        }
        return new Loaded(byId, problems);
    }

    /// <summary>Transpiled TypeScript is cached here by content hash.</summary>
    public static string CacheDir(string home) => Path.Combine(home, ".cache", "codebuff", "transpiled");

    /// <summary>Every definition file in one <c>.agents</c> folder, and a sentence for each one that did not load.</summary>
    public static (List<AgentDefinition> Agents, List<string> Problems) LoadFolder(string folder, string home)
    {
        var agents = new List<AgentDefinition>();
        var problems = new List<string>();
        var shownRoot = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)))!;
        ScriptModules? scripts = null;
        foreach (var file in DefinitionFiles(folder))
        {
            try
            {
                JsonObject? data;
                if (Path.GetExtension(file) is ".json" or ".yaml" or ".yml") data = Parse(file, folder);
                else
                {
                    scripts ??= new ScriptModules(folder, new Transpiler(CacheDir(home)));
                    data = scripts.Definition(file);
                    // A module without a definition (shared prompts, constants, factories) is not an agent.
                    if (data is null || (data["id"] is null && data["model"] is null && data["displayName"] is null)) continue;
                }
                if (data["id"] is not JsonValue id || id.GetValueKind() != System.Text.Json.JsonValueKind.String)
                    throw new CliException("it has no \"id\"; every agent definition needs one.");
                agents.Add(new AgentDefinition(data, file));
            }
            catch (CliException e)
            {
                problems.Add($"{Path.GetRelativePath(shownRoot, file)}: {e.Message}");
            }
            catch (Exception e)
            {
                problems.Add(ScriptModules.Describe(file, e, shownRoot));
            }
        }
        return (agents, problems);
    }

    /// <summary>
    /// The files upstream loads (<c>**/*.{ts,tsx,js,mjs,cjs}</c>) plus JSON/YAML, less what <c>codebuff init</c> and
    /// other tools put beside them: types/, skills/, node_modules/, *.d.ts, tests, package.json, tsconfig, MCP config, READMEs.
    /// </summary>
    static IEnumerable<string> DefinitionFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetExtension(f) is ".json" or ".yaml" or ".yml" or ".ts" or ".tsx" or ".js" or ".mjs" or ".cjs")
            .Where(f =>
            {
                var parts = Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar);
                return parts[0] is not ("skills" or "types") && !parts.Contains("node_modules");
            })
            .Where(f => Path.GetFileName(f) is var name
                        && name is not ("mcp.json" or "package.json" or "package-lock.json")
                        && !name.StartsWith("tsconfig", StringComparison.Ordinal)
                        && !name.StartsWith("README", StringComparison.OrdinalIgnoreCase)
                        && !name.EndsWith(".d.ts", StringComparison.Ordinal)
                        && !System.Text.RegularExpressions.Regex.IsMatch(name, @"\.(test|spec)\.[cm]?[jt]sx?$"))
            .Order(StringComparer.Ordinal);

    static JsonObject Parse(string file, string folder)
    {
        var text = DefinitionFile.Read(file, folder);
        try
        {
            var node = Path.GetExtension(file) == ".json" ? JsonNode.Parse(text) : FromYaml(text);
            return node as JsonObject ?? throw new CliException("it must hold one agent definition object.");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or YamlDotNet.Core.YamlException)
        {
            throw new CliException($"it cannot be read: {e.Message}");
        }
    }

    static JsonNode? FromYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode);
    }

    static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", Convert(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    /// <summary>Plain scalars are typed as YAML 1.2's core schema says; quoted ones stay strings.</summary>
    static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style != YamlDotNet.Core.ScalarStyle.Plain) return JsonValue.Create(v);
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (v is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        return JsonValue.Create(v);
    }
}
