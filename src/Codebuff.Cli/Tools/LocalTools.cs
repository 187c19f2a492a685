using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Codebuff.Cli.Runs;
using Microsoft.Extensions.FileSystemGlobbing;

namespace Codebuff.Cli.Tools;

/// <summary>The tools that read, change or run things in the project (clients.md §2.7 "Local FS/process").</summary>
public static class LocalTools
{
    const int MaxOutputChars = 50_000;

    public static JsonNode ReadFiles(RunSession s, JsonObject input)
    {
        var result = new JsonArray();
        foreach (var path in Strings(input["paths"]))
        {
            var (content, refusal) = s.Files.Read(path);
            result.Add(new JsonObject
            {
                ["path"] = path,
                ["content"] = refusal switch
                {
                    ProjectFiles.Blocked => $"{ProjectFiles.Blocked} This file may hold secrets; it is never read.",
                    ProjectFiles.Outside => $"{ProjectFiles.Outside} Only files inside the project can be read.",
                    _ => content is null ? "[FILE_DOES_NOT_EXIST]" : Truncate(Text(content)),
                },
            });
        }
        return result;
    }

    public static JsonNode WriteFile(RunSession s, JsonObject input)
    {
        var path = (string?)input["path"] ?? "";
        var content = (string?)input["content"] ?? "";
        var (before, refusal) = Write(s, path, content);
        if (refusal is not null) return Refused(path, refusal);
        return new JsonObject { ["file"] = path, ["message"] = before.Length == 0 ? "Created the file." : "Wrote the file.", ["unifiedDiff"] = UnifiedDiff.Create(path, before, content) };
    }

    public static JsonNode StrReplace(RunSession s, JsonObject input)
    {
        var path = (string?)input["path"] ?? "";
        // Read as a file to write, so .git/config is refused as version control rather than as a secret.
        var (bytes, refusal) = s.Files.Read(path, toWrite: true);
        if (refusal is not null) return Refused(path, refusal);
        if (bytes is null) return new JsonObject { ["file"] = path, ["errorMessage"] = "The file does not exist; create it with write_file." };
        var before = Text(bytes);
        var after = before;
        foreach (var r in (input["replacements"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var old = (string?)r["old"] ?? "";
            var replacement = (string?)r["new"] ?? "";
            var count = old.Length == 0 ? 0 : Regex.Matches(after, Regex.Escape(old)).Count;
            if (count == 0) return new JsonObject { ["file"] = path, ["errorMessage"] = $"The old string was not found in the file: {Truncate(old, 200)}" };
            if (count > 1 && (bool?)r["allowMultiple"] != true)
                return new JsonObject { ["file"] = path, ["errorMessage"] = $"The old string occurs {count} times; add context to make it unique or set allowMultiple." };
            after = after.Replace(old, replacement, StringComparison.Ordinal);
        }
        (before, refusal) = Write(s, path, after);
        if (refusal is not null) return Refused(path, refusal);
        return new JsonObject { ["file"] = path, ["message"] = "Edited the file.", ["unifiedDiff"] = UnifiedDiff.Create(path, before, after) };
    }

    /// <summary>Writes through <see cref="ProjectFiles.Write"/> (which checks again what it opens) and journals it for undo.</summary>
    internal static (string Before, string? Refusal) Write(RunSession s, string path, string content)
    {
        var bytes = Utf8.GetBytes(content);
        var (full, before, refusal) = s.Files.Write(path, bytes);
        if (full is null) return ("", refusal);
        s.Journal.Record(full, before, bytes);
        return (before is null ? "" : Text(before), null);
    }

    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>A file's text as File.ReadAllText reads it (a byte-order mark picks the encoding and is dropped).</summary>
    internal static string Text(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes), Utf8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    internal static JsonObject Refused(string path, string refusal) => new()
    {
        ["file"] = path,
        ["errorMessage"] = refusal switch
        {
            ProjectFiles.Blocked => $"{refusal} This file may hold secrets; it is not read or written.",
            ProjectFiles.VersionControl => $"{refusal} Files under .git/, .hg/ or .svn/ are never written by tools (git runs commands named there).",
            _ => $"{refusal} Only files inside the project can be written.",
        },
    };

    public static async Task<JsonNode> RunTerminalCommandAsync(RunSession s, JsonObject input, CancellationToken ct)
    {
        var command = (string?)input["command"] ?? "";
        var cwd = s.Files.Root;
        if ((string?)input["cwd"] is { Length: > 0 } dir)
        {
            var (full, refusal) = s.Files.Check(dir);
            if (full is null || !Directory.Exists(full)) return new JsonObject { ["command"] = command, ["errorMessage"] = refusal ?? $"No directory {dir} in the project." };
            cwd = full;
        }
        if (await s.Options.Commands.RefusalAsync(s.Prompter, command, s.Files.Relative(cwd) is "." ? "the project" : s.Files.Relative(cwd), ct) is { } notRun)
            return new JsonObject { ["command"] = command, ["errorMessage"] = notRun };

        if ((string?)input["process_type"] == "BACKGROUND")
        {
            using var background = ShellCommand.Start(s.Options.Commands.Sandbox, command, cwd);
            return new JsonObject { ["command"] = command, ["message"] = $"Started in the background (pid {background.Id})." };
        }

        var seconds = (double?)input["timeout_seconds"] ?? 30;
        var run = await ShellCommand.RunAsync(s.Options.Commands.Sandbox, command, cwd, seconds > 0 ? TimeSpan.FromSeconds(seconds) : null, ct);
        if (run.TimedOut)
            return new JsonObject { ["command"] = command, ["stdout"] = Truncate(run.Stdout), ["errorMessage"] = $"Timed out after {seconds} seconds; the command was stopped." };
        var result = new JsonObject { ["command"] = command, ["stdout"] = Truncate(run.Stdout), ["exitCode"] = run.ExitCode };
        if ((run with { Stderr = Truncate(run.Stderr) }).StderrWithHint is { Length: > 0 } err) result["stderr"] = err;
        return result;
    }

    public static Task<JsonNode> CodeSearchAsync(RunSession s, JsonObject input, CancellationToken ct) =>
        CodeSearch.RunAsync(s.Files, input, Ripgrep.Find(), ct);

    public static JsonNode ListDirectory(RunSession s, JsonObject input)
    {
        var path = (string?)input["path"] is { Length: > 0 } p ? p : ".";
        var (full, refusal) = s.Files.Check(path);
        if (full is null || !Directory.Exists(full)) return new JsonObject { ["errorMessage"] = refusal ?? $"No directory {path} in the project." };
        var files = Directory.EnumerateFiles(full).Select(s.Files.Relative).Where(f => !s.Files.IsHidden(f, false)).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var dirs = Directory.EnumerateDirectories(full).Select(s.Files.Relative).Where(d => !s.Files.IsHidden(d, true)).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        return new JsonObject
        {
            ["files"] = new JsonArray(files.Select(f => (JsonNode?)f).ToArray()),
            ["directories"] = new JsonArray(dirs.Select(d => (JsonNode?)d).ToArray()),
        };
    }

    public static JsonNode Glob(RunSession s, JsonObject input)
    {
        var cwd = (string?)input["cwd"] is { Length: > 0 } c ? c : null;
        var matcher = new Matcher(StringComparison.Ordinal).AddInclude((string?)input["pattern"] ?? "**/*");
        var files = s.Files.EnumerateFiles(cwd).Select(f => cwd is null ? f : Path.GetRelativePath(cwd, f).Replace('\\', '/')).ToArray();
        var matched = matcher.Match(files).Files.Select(f => f.Path).Order(StringComparer.Ordinal).Take(1000).ToArray();
        return new JsonObject { ["files"] = new JsonArray(matched.Select(f => (JsonNode?)f).ToArray()), ["count"] = matched.Length };
    }

    static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonArray a => a.Select(n => n?.ToString() ?? "").Where(x => x.Length > 0),
        JsonValue v => [v.ToString()],
        _ => [],
    };

    internal static string Truncate(string text, int max = MaxOutputChars) => text.Length <= max ? text : text[..max] + $"\n[… {text.Length - max} more characters]";
}
