using System.Diagnostics;

namespace Codebuff.Cli.Tools;

/// <summary>ripgrep, when installed (CODEBUFF_RG_PATH or <c>rg</c> on PATH); it honours .gitignore itself.</summary>
static class Ripgrep
{
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("CODEBUFF_RG_PATH") is { Length: > 0 } configured) return File.Exists(configured) ? configured : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "rg")).FirstOrDefault(File.Exists);
    }

    public static async Task<IReadOnlyList<string>> SearchAsync(string rg, string cwd, string pattern, string[] flags, int perFile, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(rg) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--no-heading", "--line-number", "--color", "never", "--max-count", perFile.ToString(), .. flags, "--", pattern, "."])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var lines = new List<string>();
        while (await p.StandardOutput.ReadLineAsync(ct) is { } line)
            lines.Add(line.StartsWith("./", StringComparison.Ordinal) ? line[2..] : line);
        await p.WaitForExitAsync(ct);
        return lines;
    }
}
