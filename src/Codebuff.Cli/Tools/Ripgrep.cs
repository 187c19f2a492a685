using System.Diagnostics;
using System.Text.Json;

namespace Codebuff.Cli.Tools;

/// <summary>
/// ripgrep, when installed (CODEBUFF_RG_PATH, else <c>rg</c> on PATH; CODEBUFF_RIPGREP=off forces the in-process
/// search). It only finds lines: it runs with its own ignore rules and the user's ripgrep config off and hidden files
/// on, and every file it reports is kept only if <see cref="CodeSearch"/>'s rule for files lets it through.
/// </summary>
static class Ripgrep
{
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("CODEBUFF_RIPGREP") is { } setting && setting.Equals("off", StringComparison.OrdinalIgnoreCase)) return null;
        if (Environment.GetEnvironmentVariable("CODEBUFF_RG_PATH") is { Length: > 0 } configured) return File.Exists(configured) ? configured : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "rg")).FirstOrDefault(File.Exists);
    }

    public static async Task<IReadOnlyList<CodeSearch.Hit>> SearchAsync(string rg, ProjectFiles files, string under, string pattern, SearchFlags flags,
        int perFile, Func<string, bool> counts, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(rg) { WorkingDirectory = files.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        List<string> args = ["--json", "--no-config", "--no-ignore", "--hidden", "--no-messages", "--max-filesize", "1M", "--max-count", perFile.ToString(),
            "--glob", "!.git", "--glob", "!.hg", "--glob", "!.svn"];
        // Skipping the ignored folders early only saves time; the files kept are decided by `counts` either way.
        foreach (var line in files.IgnoreLines) args.AddRange(["--glob", "!" + line]);
        args.AddRange(flags.RipgrepArguments());
        args.AddRange(["--", pattern, under]);
        foreach (var a in args) psi.ArgumentList.Add(a);

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync(ct);
        var hits = new List<CodeSearch.Hit>();
        var verdicts = new Dictionary<string, bool>(StringComparer.Ordinal);
        while (await p.StandardOutput.ReadLineAsync(ct) is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var type = doc.RootElement.GetProperty("type").GetString();
            if (type is not ("match" or "context")) continue;
            var data = doc.RootElement.GetProperty("data");
            if (!data.GetProperty("path").TryGetProperty("text", out var pathText) || !data.GetProperty("lines").TryGetProperty("text", out var linesText)) continue;
            var file = Path.GetRelativePath(files.Root, Path.GetFullPath(pathText.GetString()!, files.Root)).Replace('\\', '/');
            if (!verdicts.TryGetValue(file, out var kept)) verdicts[file] = kept = counts(file);
            if (!kept) continue;
            var number = data.GetProperty("line_number").GetInt32();
            var text = linesText.GetString()!;
            if (text.EndsWith('\n')) text = text[..^1];
            foreach (var part in text.Split('\n'))
                hits.Add(new CodeSearch.Hit(file, number++, part.TrimEnd('\r'), type == "match"));
        }
        await p.WaitForExitAsync(ct);
        // 0: found, 1: nothing found, 2: an error (a bad pattern) — with --no-messages only that one is reported.
        if (p.ExitCode == 2 && hits.Count == 0 && (await stderr).Trim() is { Length: > 0 } message)
            throw new SearchException($"Invalid pattern: {message}");
        return hits;
    }
}
