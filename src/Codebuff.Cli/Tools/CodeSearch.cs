using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Codebuff.Cli.Tools;

/// <summary>
/// <c>code_search</c>: ripgrep when installed, else .NET regular expressions, with the same answer either way. Both
/// only find lines; which files count is decided here, once, by <see cref="ProjectFiles"/> (hidden, ignored, secret,
/// outside) and the flags' globs, and the lines are put in path order before the first <see cref="MaxLines"/> are kept.
/// </summary>
public static class CodeSearch
{
    public const int MaxLines = 250;
    /// <summary>Larger files are skipped by both engines (ripgrep's --max-filesize 1M).</summary>
    const long MaxFileBytes = 1024 * 1024;

    /// <summary>A found line: its file relative to the project root, its 1-based number, and whether it matched or is context.</summary>
    public sealed record Hit(string File, int Line, string Text, bool Match);

    public static async Task<JsonNode> RunAsync(ProjectFiles files, JsonObject input, string? ripgrep, CancellationToken ct)
    {
        var pattern = (string?)input["pattern"] ?? "";
        // A number however the model wrote it (15, 15.0, "15").
        var perFile = Math.Clamp(double.TryParse(input["maxResults"]?.ToString(), System.Globalization.CultureInfo.InvariantCulture, out var max) ? (int)max : 15, 1, MaxLines);
        var dir = (string?)input["cwd"] is { Length: > 0 } c ? c : ".";
        var (root, refusal) = files.Check(dir);
        if (root is null) return new JsonObject { ["errorMessage"] = refusal };
        if (!Directory.Exists(root)) return new JsonObject { ["errorMessage"] = $"No directory {dir} in the project." };
        var (flags, error) = SearchFlags.Parse((string?)input["flags"] ?? "");
        if (flags is null) return new JsonObject { ["errorMessage"] = error };
        if (flags.MaxCount is { } m) perFile = Math.Min(perFile, Math.Max(m, 1));
        var under = files.Relative(root);

        // Which files count: visible, inside, not holding a secret, and passing the flags' globs (relative to cwd).
        bool Counts(string relative) =>
            !files.IsHidden(relative, false) && files.Check(relative).FullPath is { } full
            && flags.Includes(Path.GetRelativePath(root, full).Replace('\\', '/'));

        IReadOnlyList<Hit> hits;
        try
        {
            hits = ripgrep is not null
                ? await Ripgrep.SearchAsync(ripgrep, files, under, pattern, flags, perFile, Counts, ct)
                : InProcess(files, under, pattern, flags, perFile, Counts);
        }
        catch (SearchException e)
        {
            return new JsonObject { ["errorMessage"] = e.Message };
        }
        var lines = Format(hits.OrderBy(h => h.File, StringComparer.Ordinal).ThenBy(h => h.Line).ToList(), root, files, flags.Before + flags.After > 0);
        var kept = lines.Take(MaxLines).ToArray();
        return new JsonObject { ["stdout"] = string.Join('\n', kept), ["matches"] = kept.Length };
    }

    /// <summary>ripgrep's layout: <c>path:line:text</c> for matches, <c>path-line-text</c> for context, <c>--</c> between groups.</summary>
    static IEnumerable<string> Format(List<Hit> hits, string root, ProjectFiles files, bool context)
    {
        Hit? previous = null;
        foreach (var h in hits)
        {
            if (context && previous is not null && (previous.File != h.File || previous.Line + 1 < h.Line)) yield return "--";
            var shown = Path.GetRelativePath(root, Path.Combine(files.Root, h.File)).Replace('\\', '/');
            yield return $"{shown}{(h.Match ? ':' : '-')}{h.Line}{(h.Match ? ':' : '-')}{h.Text}";
            previous = h;
        }
    }

    /// <summary>The fallback when ripgrep is not installed (or CODEBUFF_RIPGREP=off).</summary>
    static List<Hit> InProcess(ProjectFiles files, string under, string pattern, SearchFlags flags, int perFile, Func<string, bool> counts)
    {
        Regex regex;
        try { regex = flags.ToRegex(pattern); }
        catch (ArgumentException e) { throw new SearchException($"Invalid pattern: {e.Message}"); }
        var hits = new List<Hit>();
        foreach (var file in files.EnumerateFiles(under == "." ? null : under))
        {
            var full = Path.Combine(files.Root, file);
            if (new FileInfo(full).Length > MaxFileBytes || !counts(file)) continue;
            // Read checked again on the opened file: it may have become a link out since it was listed.
            if (files.Read(file).Content is not { } bytes) continue;
            var text = new StreamReader(new MemoryStream(bytes), detectEncodingFromByteOrderMarks: true).ReadToEnd();
            if (text.Contains('\0')) continue; // binary, as ripgrep skips it
            var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            if (text.EndsWith('\n')) lines.RemoveAt(lines.Count - 1);
            var matched = new SortedSet<int>();
            try
            {
                if (flags.Multiline)
                {
                    var starts = LineStarts(text);
                    foreach (Match match in regex.Matches(text))
                    {
                        if (matched.Count >= perFile) break;
                        var first = LineOf(starts, match.Index);
                        var last = LineOf(starts, match.Index + Math.Max(match.Length - 1, 0));
                        for (var l = first; l <= last && l < lines.Count; l++) matched.Add(l);
                    }
                }
                else
                    for (var l = 0; l < lines.Count && matched.Count < perFile; l++)
                        if (regex.IsMatch(lines[l])) matched.Add(l);
            }
            catch (RegexMatchTimeoutException)
            {
                throw new SearchException("The pattern took too long to match; make it simpler.");
            }
            var shown = new SortedSet<int>();
            foreach (var l in matched)
                for (var k = Math.Max(0, l - flags.Before); k <= Math.Min(lines.Count - 1, l + flags.After); k++) shown.Add(k);
            hits.AddRange(shown.Select(l => new Hit(file, l + 1, lines[l], matched.Contains(l))));
        }
        return hits;
    }

    static List<int> LineStarts(string text)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++) if (text[i] == '\n') starts.Add(i + 1);
        return starts;
    }

    static int LineOf(List<int> starts, int index)
    {
        var i = starts.BinarySearch(index);
        return i >= 0 ? i : ~i - 1;
    }
}
