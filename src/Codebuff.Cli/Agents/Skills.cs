using System.Security;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Codebuff.Cli.Tools;
using YamlDotNet.RepresentationModel;

namespace Codebuff.Cli.Agents;

/// <summary>A skill: the whole SKILL.md (front matter included, as upstream sends it) and its front matter's fields.</summary>
public sealed record Skill(string Name, string Description, string? License, string Content, string FilePath);

/// <summary>
/// Skills (clients.md §2.2, @codebuff/sdk 0.10's loadSkills): <c>&lt;dir&gt;/&lt;name&gt;/SKILL.md</c> under
/// <c>~/.claude/skills</c>, <c>~/.agents/skills</c>, the project parent's <c>.agents/skills</c>, the project's
/// <c>.claude/skills</c> and <c>.agents/skills</c> (later wins for a name). The front matter must hold <c>name</c> (equal
/// to the folder's name, <c>^[a-z0-9]+(-[a-z0-9]+)*$</c>, at most 64 characters) and <c>description</c> (1–1024
/// characters); other skills are skipped, as are files that may hold secrets. An agent that lists the <c>skill</c> tool
/// sees every skill's name and description in the tool's description and loads one's full text by calling it.
/// </summary>
public static partial class Skills
{
    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex NameRule();

    public static IReadOnlyDictionary<string, Skill> Load(string projectRoot, string home)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(projectRoot));
        var folders = new List<string> { Path.Combine(home, ".claude", "skills"), Path.Combine(home, ".agents", "skills") };
        if (parent is not null) folders.Add(Path.Combine(parent, ".agents", "skills"));
        folders.AddRange([Path.Combine(projectRoot, ".claude", "skills"), Path.Combine(projectRoot, ".agents", "skills")]);
        var skills = new Dictionary<string, Skill>(StringComparer.Ordinal);
        foreach (var folder in folders.Distinct().Where(Directory.Exists))
            foreach (var dir in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
                if (Read(dir, folder) is { } skill) skills[skill.Name] = skill;
        return skills;
    }

    static Skill? Read(string dir, string folder)
    {
        var name = Path.GetFileName(dir);
        var file = Path.Combine(dir, "SKILL.md");
        if (!IsValidName(name) || !File.Exists(file) || ProjectFiles.IsSecretFile(file)) return null;
        string content;
        // A SKILL.md linking out of its skills folder (or too big) is left out like any unreadable skill.
        try { content = DefinitionFile.Read(file, folder); }
        catch (CliException) { return null; }
        if (FrontMatter(content) is not { } fields) return null;
        var description = fields.GetValueOrDefault("description");
        if (fields.GetValueOrDefault("name") != name || description is not { Length: >= 1 and <= 1024 }) return null;
        return new Skill(name, description, fields.GetValueOrDefault("license"), content, file);
    }

    public static bool IsValidName(string name) => name.Length <= 64 && NameRule().IsMatch(name);

    /// <summary>The scalar fields of a leading <c>---</c> YAML block; null when there is none or it is not YAML.</summary>
    static Dictionary<string, string>? FrontMatter(string content)
    {
        var lines = content.Replace("\r\n", "\n").Split('\n');
        if (lines.Length < 2 || lines[0].Trim() != "---") return null;
        var end = Array.FindIndex(lines, 1, l => l.Trim() == "---");
        if (end < 0) return null;
        try
        {
            var yaml = new YamlStream();
            yaml.Load(new StringReader(string.Join('\n', lines[1..end])));
            if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode map) return null;
            return map.Children.Where(kv => kv.Key is YamlScalarNode && kv.Value is YamlScalarNode)
                .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => (((YamlScalarNode)kv.Value).Value ?? "").Trim());
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return null;
        }
    }

    /// <summary>The skill tool's description, listing the skills as upstream does (an <c>&lt;available_skills&gt;</c> block).</summary>
    public static string ToolDescription(IReadOnlyDictionary<string, Skill> skills)
    {
        const string head = "Load a skill by name to get its full instructions. Skills provide reusable behaviors and domain-specific knowledge that you can use to complete tasks.\n\n";
        if (skills.Count == 0) return head + "There are no skills available. Do not use this tool because there are no skills to load.";
        var entries = skills.Values.OrderBy(s => s.Name, StringComparer.Ordinal)
            .Select(s => $"  <skill>\n    <name>{s.Name}</name>\n    <description>{SecurityElement.Escape(s.Description)}</description>\n  </skill>");
        return head + "The following are the only skills that are currently available (do not try to use any other skills):\n" +
               $"<available_skills>\n{string.Join('\n', entries)}\n</available_skills>";
    }

    /// <summary>skill{name}: the skill's name, description and full text; an unknown name says which exist (upstream's answer).</summary>
    public static JsonNode Run(IReadOnlyDictionary<string, Skill> skills, JsonObject input)
    {
        var name = (string?)input["name"] ?? "";
        if (!skills.TryGetValue(name, out var skill))
            return new JsonObject
            {
                ["name"] = name, ["description"] = "",
                ["content"] = $"Error: Skill '{name}' not found." + (skills.Count > 0 ? $" Available skills: {string.Join(", ", skills.Keys.Order(StringComparer.Ordinal))}" : " No skills are currently available."),
            };
        var result = new JsonObject { ["name"] = skill.Name, ["description"] = skill.Description, ["content"] = skill.Content };
        if (skill.License is not null) result["license"] = skill.License;
        return result;
    }
}
