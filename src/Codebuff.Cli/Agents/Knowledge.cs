using Codebuff.Cli.Tools;

namespace Codebuff.Cli.Agents;

/// <summary>A knowledge file found for a run: its path as shown (project-relative, or <c>~/.name</c>), the characters
/// that went into the context, whether the cap cut it, and why it was left out (null when it was read).</summary>
public sealed record KnowledgeFile(string Path, int Chars, bool Truncated, string? Skipped);

/// <summary>
/// The project's knowledge files (clients.md §2.2), read as upstream reads them: in each folder from the project root
/// to the working folder the first of <c>knowledge.md</c>, <c>AGENTS.md</c>, <c>CLAUDE.md</c>, <c>*.knowledge.md</c>
/// (names compared case-insensitively), then the first of <c>~/.knowledge.md</c>, <c>~/.AGENTS.md</c>, <c>~/.CLAUDE.md</c>.
/// Each is read through the project's file rule (secrets, links out of the project, .gitignore) and the whole is capped
/// at <see cref="MaxChars"/> characters, so one huge file cannot crowd out the conversation.
/// </summary>
public sealed class Knowledge
{
    /// <summary>The cap on all knowledge files together (about 8,000 tokens), sent with every LLM call of an agent that gets them.</summary>
    public const int MaxChars = 32_000;
    /// <summary>Where an agent's prompt wants the knowledge (upstream's placeholder); without it the root agent's system prompt ends with it.</summary>
    public const string Placeholder = "{CODEBUFF_KNOWLEDGE_FILES_CONTENTS}";
    public const string Rule = "knowledge.md, AGENTS.md, CLAUDE.md or *.knowledge.md (the first of these in each folder from the project root " +
                               "to the working folder) and ~/.knowledge.md, ~/.AGENTS.md or ~/.CLAUDE.md (the first found)";

    static readonly string[] Priority = ["knowledge.md", "agents.md", "claude.md"];

    Knowledge(IReadOnlyList<KnowledgeFile> files, string block)
    {
        Files = files;
        Block = block;
    }

    public static Knowledge None { get; } = new([], "");

    public IReadOnlyList<KnowledgeFile> Files { get; }
    /// <summary>What goes into the context: each file read as a fenced block labelled with its path; empty when none.</summary>
    public string Block { get; }
    public int TotalChars => Files.Sum(f => f.Chars);

    /// <summary>The knowledge of <paramref name="files"/>' project seen from <paramref name="workingDir"/> (the project root when
    /// it is not inside the project).</summary>
    public static Knowledge Load(ProjectFiles files, string workingDir, string home)
    {
        var found = new List<(string Shown, string? Content, string? Skipped)>();
        foreach (var dir in FoldersDown(files.Root, workingDir))
        {
            if (Pick(dir) is not { } file) continue;
            var relative = files.Relative(file);
            if (files.IsHidden(relative, false)) found.Add((relative, null, "ignored by .gitignore"));
            else if (files.Check(relative).Refusal is { } refusal) found.Add((relative, null, refusal == ProjectFiles.Blocked ? "blocked: may hold secrets" : "outside the project"));
            else found.Add((relative, ReadCapped(file), null));
        }
        if (Directory.Exists(home) && Pick(home, userLevel: true) is { } mine)
        {
            var shown = "~/" + Path.GetFileName(mine);
            found.Add(ProjectFiles.IsSecretFile(mine) ? (shown, null, "blocked: may hold secrets") : (shown, ReadCapped(mine), null));
        }

        var list = new List<KnowledgeFile>();
        var blocks = new List<string>();
        var left = MaxChars;
        foreach (var (shown, content, skipped) in found)
        {
            if (content is null) { list.Add(new KnowledgeFile(shown, 0, false, skipped)); continue; }
            var text = content.Trim();
            if (left == 0) { list.Add(new KnowledgeFile(shown, 0, true, $"over the {MaxChars:N0}-character cap")); continue; }
            var truncated = text.Length > left;
            if (truncated) text = text[..left];
            left -= text.Length;
            list.Add(new KnowledgeFile(shown, text.Length, truncated, null));
            blocks.Add($"```{shown}\n{text}{(truncated ? $"\n[… cut at the {MaxChars:N0}-character cap for knowledge files; read the file for the rest]" : "")}\n```");
        }
        var block = blocks.Count == 0 ? "" : "# Knowledge files\nEach block below is one knowledge file of this project or of the user, labelled with its path. " +
                                              "Follow what they say for the rest of the session.\n\n" + string.Join("\n\n", blocks);
        return new Knowledge(list, block);
    }

    /// <summary>The system prompt with the knowledge at the placeholder, or (for the root agent, when it has none) at its end.</summary>
    public string Apply(string prompt, bool appendWhenNoPlaceholder)
    {
        if (prompt.Contains(Placeholder, StringComparison.Ordinal)) return prompt.Replace(Placeholder, Block, StringComparison.Ordinal);
        return appendWhenNoPlaceholder && Block.Length > 0 ? $"{prompt}\n\n{Block}" : prompt;
    }

    /// <summary>One line per file, for <c>--help</c> and <c>/init</c>.</summary>
    public string Describe() => Files.Count == 0 ? "  (none found)" : string.Join('\n', Files.Select(f =>
        $"  {f.Path}: {(f.Skipped is { } why ? "not read, " + why : $"{f.Chars:N0} characters{(f.Truncated ? ", cut at the cap" : "")}")}"));

    /// <summary>No more of a file than the cap can use (a huge file is not read whole); the spare allows for trimmed whitespace.</summary>
    static string ReadCapped(string path)
    {
        using var reader = new StreamReader(path);
        var buffer = new char[MaxChars + 4096];
        return new string(buffer, 0, reader.ReadBlock(buffer, 0, buffer.Length));
    }

    static IEnumerable<string> FoldersDown(string root, string workingDir)
    {
        yield return root;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(workingDir));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) yield break;
        var current = root;
        foreach (var part in Path.GetRelativePath(root, full).Split(Path.DirectorySeparatorChar))
            yield return current = Path.Combine(current, part);
    }

    /// <summary>The folder's knowledge file by priority; in the home folder the names start with a dot and *.knowledge.md does not count.</summary>
    static string? Pick(string dir, bool userLevel = false)
    {
        if (!Directory.Exists(dir)) return null;
        var byName = Directory.EnumerateFiles(dir).GroupBy(f => Path.GetFileName(f).ToLowerInvariant())
            .ToDictionary(g => g.Key, g => g.Order(StringComparer.Ordinal).First());
        foreach (var name in Priority)
            if (byName.TryGetValue(userLevel ? "." + name : name, out var file)) return file;
        return userLevel ? null : byName.Where(kv => kv.Key.EndsWith(".knowledge.md", StringComparison.Ordinal) && kv.Key.Length > ".knowledge.md".Length)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).FirstOrDefault();
    }
}
