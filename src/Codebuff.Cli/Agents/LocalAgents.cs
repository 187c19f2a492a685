using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Codebuff.Cli.Agents;

/// <summary>
/// Definitions under <c>.agents/</c> as JSON or YAML with the spec's field names (the .NET proposal of clients.md §2.10;
/// TypeScript definitions are not loaded). Folders are read home first, then the project's parent, then the project,
/// so the definition nearest the project wins for an id.
/// </summary>
public static class LocalAgents
{
    public static IReadOnlyDictionary<string, AgentDefinition> Load(string projectRoot, string home)
    {
        var byId = new Dictionary<string, AgentDefinition>(StringComparer.Ordinal);
        var folders = new[] { home, Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(projectRoot)), projectRoot }
            .Where(d => d is not null).Select(d => Path.Combine(d!, ".agents")).Distinct().Where(Directory.Exists);
        foreach (var folder in folders)
            foreach (var definition in LoadFolder(folder))
                byId[definition.Id] = definition;
        return byId;
    }

    /// <summary>Every definition file in one <c>.agents</c> folder (skills/ and types/ hold other things).</summary>
    public static IEnumerable<AgentDefinition> LoadFolder(string folder)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetExtension(f) is ".json" or ".yaml" or ".yml")
            .Where(f => Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar)[0] is not ("skills" or "types"))
            .Where(f => Path.GetFileName(f) != "mcp.json")
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var data = Parse(file);
            if (data["id"] is null) throw new CliException($"{file} has no \"id\"; every agent definition needs one.");
            yield return new AgentDefinition(data, file);
        }
    }

    static JsonObject Parse(string file)
    {
        var text = File.ReadAllText(file);
        try
        {
            var node = Path.GetExtension(file) == ".json" ? JsonNode.Parse(text) : FromYaml(text);
            return node as JsonObject ?? throw new CliException($"{file} must hold one agent definition object.");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or YamlDotNet.Core.YamlException)
        {
            throw new CliException($"{file} cannot be read: {e.Message}");
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
