using System.Text.RegularExpressions;

namespace Codebuff.Cli.Tools;

/// <summary>
/// The project the tools work in and the file filter of clients.md §2.7: nothing outside the project root is read or
/// written, secrets are never read (or overwritten), and listings skip <c>.git</c> and what <c>.gitignore</c> ignores.
/// </summary>
public sealed partial class ProjectFiles
{
    public const string Outside = "[FILE_OUTSIDE_PROJECT]";
    public const string Blocked = "[BLOCKED]";

    readonly List<(Regex Pattern, bool DirectoryOnly)> _ignored = [];

    public ProjectFiles(string root)
    {
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var gitignore = Path.Combine(Root, ".gitignore");
        if (File.Exists(gitignore))
            foreach (var raw in File.ReadAllLines(gitignore))
                if (IgnorePattern(raw.Trim()) is { } p) _ignored.Add(p);
    }

    public string Root { get; }

    /// <summary>The full path of a project-relative (or absolute) path, or why it may not be touched.</summary>
    public (string? FullPath, string? Refusal) Check(string path)
    {
        var full = Path.GetFullPath(Path.Combine(Root, path));
        if (!IsInside(full)) return (null, Outside);
        if (LeavesProject(full)) return (null, Outside);
        return IsSecret(Path.GetFileName(full)) ? (null, Blocked) : (full, null);
    }

    /// <summary>A link inside the project (the file or a folder above it) that points outside it leads outside.</summary>
    bool LeavesProject(string full)
    {
        for (var path = full; path.Length > Root.Length; path = Path.GetDirectoryName(path)!)
        {
            FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
            if (info.Exists && info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target && !IsInside(target.FullName))
                return true;
        }
        return false;
    }

    public string Relative(string fullPath) => Path.GetRelativePath(Root, fullPath).Replace('\\', '/');

    bool IsInside(string full) => full == Root || full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Files that may hold secrets (clients.md §2.7); examples and templates of them are fine.</summary>
    public static bool IsSecret(string name)
    {
        var lower = name.ToLowerInvariant();
        if (lower.StartsWith(".env", StringComparison.Ordinal))
            return !(lower.Contains("example") || lower.Contains("sample") || lower.Contains("template"));
        if (lower is ".netrc" or ".npmrc" or "auth.json" or "credentials") return true;
        if ((lower.StartsWith("id_rsa", StringComparison.Ordinal) || lower.StartsWith("id_ed25519", StringComparison.Ordinal)) && !lower.EndsWith(".pub", StringComparison.Ordinal)) return true;
        if (lower.Contains("kubeconfig") || lower.EndsWith(".tfstate", StringComparison.Ordinal) || lower.EndsWith(".tfstate.backup", StringComparison.Ordinal)) return true;
        return Path.GetExtension(lower) is ".pem" or ".key" or ".p12" or ".pfx" or ".jks" or ".keystore" or ".crt" or ".cer";
    }

    /// <summary>True for what listings and searches skip: <c>.git</c>, ignored paths and secrets.</summary>
    public bool IsHidden(string relative, bool isDirectory)
    {
        if (relative == ".git" || relative.StartsWith(".git/", StringComparison.Ordinal)) return true;
        if (!isDirectory && IsSecret(Path.GetFileName(relative))) return true;
        // A path is ignored when it or any folder above it matches.
        var parts = relative.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            var prefix = string.Join('/', parts[..i]);
            var dir = i < parts.Length || isDirectory;
            if (_ignored.Any(p => (!p.DirectoryOnly || dir) && p.Pattern.IsMatch(prefix))) return true;
        }
        return false;
    }

    /// <summary>Every visible file under a project folder, as project-relative paths in a stable order.</summary>
    public IEnumerable<string> EnumerateFiles(string? under = null)
    {
        var start = under is null ? Root : Check(under).FullPath;
        if (start is null || !Directory.Exists(start)) yield break;
        var pending = new Stack<string>([start]);
        while (pending.TryPop(out var dir))
        {
            foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
                if (!IsHidden(Relative(file), false)) yield return Relative(file);
            foreach (var sub in Directory.EnumerateDirectories(dir).OrderDescending(StringComparer.Ordinal))
                if (!IsHidden(Relative(sub), true) && new DirectoryInfo(sub).LinkTarget is null) pending.Push(sub);
        }
    }

    /// <summary>The common .gitignore forms: names, globs (<c>*</c>, <c>?</c>, <c>**</c>), a leading or trailing <c>/</c>. Negations are not supported.</summary>
    static (Regex, bool)? IgnorePattern(string line)
    {
        if (line.Length == 0 || line[0] is '#' or '!') return null;
        var directoryOnly = line.EndsWith('/');
        line = line.TrimEnd('/');
        var anchored = line.StartsWith('/') || line.Contains('/');
        line = line.TrimStart('/');
        if (line.Length == 0) return null;
        var body = Regex.Escape(line).Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]");
        return (new Regex((anchored ? "^" : "^(.*/)?") + body + "$", RegexOptions.CultureInvariant), directoryOnly);
    }
}
