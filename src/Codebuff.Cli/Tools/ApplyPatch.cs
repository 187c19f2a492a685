using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Codebuff.Cli.Runs;

namespace Codebuff.Cli.Tools;

/// <summary>
/// apply_patch (@codebuff/sdk 0.10.7): <c>{operation:{type:"create_file"|"update_file"|"delete_file", path, diff?}}</c>,
/// one file per call, the diff in the Codex apply_patch form (hunks opened by <c>@@</c>, optionally <c>@@ anchor</c> or a
/// unified <c>@@ -a,b +c,d @@</c> header; context lines matched exactly, then ignoring trailing, then all surrounding
/// whitespace). The path goes through the same project checks as write_file, the change into the same edit journal, so
/// <c>codebuff undo</c> restores patched and deleted files and removes created ones.
/// </summary>
public static partial class ApplyPatch
{
    const string EndPatch = "*** End Patch";
    const string EndFile = "*** End of File";
    static readonly string[] SectionEnds = [EndPatch, "*** Update File:", "*** Delete File:", "*** Add File:", EndFile];

    [GeneratedRegex(@"^@@.*@@(?: .*)?$")]
    private static partial Regex WrappedHeader();

    [GeneratedRegex(@"```diff\r?\n([\s\S]*?)\r?\n```", RegexOptions.IgnoreCase)]
    private static partial Regex DiffFence();

    [GeneratedRegex(@"^```(?:[a-zA-Z0-9_-]+)?\r?\n([\s\S]*?)\r?\n```$")]
    private static partial Regex AnyFence();

    public static JsonNode Run(RunSession s, JsonObject input)
    {
        if (input["operation"] is not JsonObject op) return Error("Missing or invalid operation object.");
        var type = (string?)op["type"];
        var path = (string?)op["path"] ?? "";
        var diff = (string?)op["diff"] ?? "";
        if (type is not ("create_file" or "update_file" or "delete_file")) return Error("operation.type must be create_file, update_file or delete_file.");
        if (path.Length == 0) return Error("Path cannot be empty.");
        if (type != "delete_file" && diff.Length == 0) return Error("Diff cannot be empty.");

        // Read and written through ProjectFiles, which checks again what it opens (a link swapped in is refused).
        var (current, refusal) = s.Files.Read(path, toWrite: true);
        if (refusal is not null) return LocalTools.Refused(path, refusal);
        var before = current is null ? null : LocalTools.Text(current);
        try
        {
            switch (type)
            {
                case "create_file":
                    var created = Create(Lines(Sanitize(diff)));
                    if (LocalTools.Write(s, path, created).Refusal is { } createRefused) return LocalTools.Refused(path, createRefused);
                    return Applied(path, "add", before ?? "", created);
                case "delete_file":
                    if (before is null) return Error($"{path} does not exist.");
                    var (deleted, deleteRefused) = s.Files.Delete(path);
                    if (deleted is null) return LocalTools.Refused(path, deleteRefused!);
                    s.Journal.Record(deleted, current, null);
                    return Applied(path, "delete", before, "");
                default:
                    if (before is null) return Error($"{path} does not exist; create it with operation type create_file.");
                    var patched = Update(before, Sanitize(diff), out var failure);
                    if (patched is null)
                        return Error($"Failed to apply patch to {path}. {failure} Please re-read the file and generate a patch with exact context lines.");
                    if (LocalTools.Write(s, path, patched).Refusal is { } updateRefused) return LocalTools.Refused(path, updateRefused);
                    return Applied(path, "update", before, patched);
            }
        }
        catch (FormatException e)
        {
            return Error(e.Message);
        }
    }

    static JsonObject Applied(string path, string action, string before, string after) => new()
    {
        ["message"] = "Applied 1 patch operation.",
        ["applied"] = new JsonArray(new JsonObject { ["file"] = path, ["action"] = action }),
        ["unifiedDiff"] = UnifiedDiff.Create(path, before, after),
    };

    static JsonObject Error(string message) => new() { ["errorMessage"] = message };

    static string Sanitize(string raw)
    {
        if (DiffFence().Match(raw) is { Success: true } d) return d.Groups[1].Value;
        return AnyFence().Match(raw.Trim()) is { Success: true } f ? f.Groups[1].Value : raw;
    }

    static List<string> Lines(string diff)
    {
        var lines = diff.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1] == "") lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>A new file: every line after the headers starts with <c>+</c>; the file ends with a newline.</summary>
    static string Create(List<string> lines)
    {
        var body = lines.Where(l => !l.StartsWith("---") && !l.StartsWith("+++") && !l.StartsWith("@@") && !l.StartsWith("***")).ToList();
        var bad = body.FirstOrDefault(l => !l.StartsWith('+'));
        if (bad is not null) throw new FormatException($"Invalid line for create_file (every line must start with +): {bad}");
        return body.Count == 0 ? "" : string.Join('\n', body.Select(l => l[1..])) + "\n";
    }

    /// <summary>The patched text, or null with the reason; tried as given, then with and without a final newline (as the SDK does).</summary>
    static string? Update(string original, string diff, out string failure)
    {
        var crlf = original.Contains("\r\n") && !Regex.IsMatch(original, "(^|[^\r])\n");
        var source = original.Replace("\r\n", "\n");
        var lines = Lines(diff.Replace("\r\n", "\n"));
        // "--- a/x" / "+++ b/x" file headers before the first hunk say nothing the path does not.
        while (lines.Count > 0 && (lines[0].StartsWith("--- ") || lines[0].StartsWith("+++ ") || lines[0].StartsWith("diff --git") || lines[0].StartsWith("index "))) lines.RemoveAt(0);
        var intended = lines.Any(l => (l.StartsWith('+') || l.StartsWith('-')) && !l.StartsWith("+++") && !l.StartsWith("---"));
        failure = "";
        var tried = new HashSet<string>();
        foreach (var attempt in new[] { source, source.EndsWith('\n') ? source : source + "\n", source.EndsWith('\n') ? source[..^1] : source })
        {
            if (!tried.Add(attempt)) continue;
            try
            {
                var patched = ApplyChunks(attempt, ParseUpdate(lines, attempt));
                if (intended && patched == attempt) { failure = "The patch produced no change."; continue; }
                return crlf ? patched.Replace("\n", "\r\n") : patched;
            }
            catch (FormatException e)
            {
                failure = $"Last error: {e.Message}";
            }
        }
        return null;
    }

    sealed record Chunk(int OrigIndex, List<string> Deleted, List<string> Inserted);

    static List<Chunk> ParseUpdate(List<string> diffLines, string input)
    {
        var lines = diffLines.Append(EndPatch).ToList();
        var inputLines = input.Split('\n');
        var chunks = new List<Chunk>();
        int index = 0, cursor = 0;
        while (!(index >= lines.Count || SectionEnds.Any(e => lines[index].StartsWith(e, StringComparison.Ordinal))))
        {
            var line = lines[index];
            var anchor = "";
            var wrapped = WrappedHeader().IsMatch(line);
            var header = line == "@@" || wrapped || line.StartsWith("@@ ", StringComparison.Ordinal);
            if (line.StartsWith("@@ ", StringComparison.Ordinal) && !wrapped) anchor = line[3..];
            if (header) index++;
            else if (cursor != 0) throw new FormatException($"Invalid line: {line}");
            if (anchor.Trim().Length > 0) cursor = AdvanceToAnchor(anchor, inputLines, cursor);
            var (context, sectionChunks, end, eof) = ReadSection(lines, index);
            var found = FindContext(inputLines, context, cursor, eof);
            if (found < 0) throw new FormatException($"Invalid {(eof ? "EOF " : "")}context at line {cursor + 1}:\n{string.Join('\n', context)}");
            chunks.AddRange(sectionChunks.Select(c => c with { OrigIndex = c.OrigIndex + found }));
            cursor = found + context.Count;
            index = end;
        }
        return chunks;
    }

    static int AdvanceToAnchor(string anchor, string[] input, int cursor)
    {
        if (!input.Take(cursor).Contains(anchor))
            for (var i = cursor; i < input.Length; i++)
                if (input[i] == anchor) return i + 1;
        if (!input.Take(cursor).Any(l => l.Trim() == anchor.Trim()))
            for (var i = cursor; i < input.Length; i++)
                if (input[i].Trim() == anchor.Trim()) return i + 1;
        return cursor;
    }

    static (List<string> Context, List<Chunk> Chunks, int End, bool Eof) ReadSection(List<string> lines, int start)
    {
        var context = new List<string>();
        var deleted = new List<string>();
        var inserted = new List<string>();
        var chunks = new List<Chunk>();
        var mode = ' ';
        var index = start;
        while (index < lines.Count)
        {
            var raw = lines[index];
            if (raw.StartsWith("@@", StringComparison.Ordinal) || raw == "***" || SectionEnds.Any(e => raw.StartsWith(e, StringComparison.Ordinal))) break;
            if (raw.StartsWith("***", StringComparison.Ordinal)) throw new FormatException($"Invalid line: {raw}");
            index++;
            var line = raw.Length == 0 ? " " : raw;
            var last = mode;
            mode = line[0] switch { '+' => '+', '-' => '-', ' ' => ' ', _ => throw new FormatException($"Invalid line (each starts with +, - or a space): {line}") };
            line = line[1..];
            if (mode == ' ' && last != ' ' && (inserted.Count > 0 || deleted.Count > 0))
            {
                chunks.Add(new Chunk(context.Count - deleted.Count, deleted, inserted));
                (deleted, inserted) = ([], []);
            }
            if (mode == '-') { deleted.Add(line); context.Add(line); }
            else if (mode == '+') inserted.Add(line);
            else context.Add(line);
        }
        if (inserted.Count > 0 || deleted.Count > 0) chunks.Add(new Chunk(context.Count - deleted.Count, deleted, inserted));
        if (index < lines.Count && lines[index] == EndFile) return (context, chunks, index + 1, true);
        if (index == start) throw new FormatException($"A hunk has no lines: {(index < lines.Count ? lines[index] : "")}");
        return (context, chunks, index, false);
    }

    static int FindContext(string[] lines, List<string> context, int start, bool eof)
    {
        if (eof)
        {
            var atEnd = FindContextCore(lines, context, Math.Max(0, lines.Length - context.Count));
            return atEnd >= 0 ? atEnd : FindContextCore(lines, context, start);
        }
        return FindContextCore(lines, context, start);
    }

    static int FindContextCore(string[] lines, List<string> context, int start)
    {
        if (context.Count == 0) return start;
        foreach (var normalize in new Func<string, string>[] { l => l, l => l.TrimEnd(), l => l.Trim() })
            for (var i = start; i + context.Count <= lines.Length; i++)
                if (context.Select((c, k) => normalize(lines[i + k]) == normalize(c)).All(x => x)) return i;
        return -1;
    }

    static string ApplyChunks(string input, List<Chunk> chunks)
    {
        var original = input.Split('\n');
        var result = new List<string>();
        var at = 0;
        foreach (var chunk in chunks)
        {
            if (chunk.OrigIndex > original.Length) throw new FormatException($"A hunk starts past the end of the file (line {chunk.OrigIndex + 1}).");
            if (at > chunk.OrigIndex) throw new FormatException($"Hunks overlap at line {chunk.OrigIndex + 1}.");
            result.AddRange(original[at..chunk.OrigIndex]);
            result.AddRange(chunk.Inserted);
            at = chunk.OrigIndex + chunk.Deleted.Count;
        }
        result.AddRange(original[Math.Min(at, original.Length)..]);
        return string.Join('\n', result);
    }
}
