using System.Text;
using System.Text.RegularExpressions;

namespace Codebuff.Cli.Tools;

/// <summary>
/// The project the tools work in and the file filter of clients.md §2.7, the one home of these rules for every tool:
/// nothing outside the project root is read or written (links are followed to where they lead), secrets are never
/// read, searched or overwritten (by path and by content), nothing under <c>.git/</c>, <c>.hg/</c> or <c>.svn/</c> is
/// written, and listings skip version-control folders and what <c>.gitignore</c> ignores.
/// </summary>
public sealed partial class ProjectFiles
{
    public const string Outside = "[FILE_OUTSIDE_PROJECT]";
    public const string Blocked = "[BLOCKED]";
    public const string VersionControl = "[VERSION_CONTROL]";

    static readonly string[] VcsFolders = [".git", ".hg", ".svn"];
    readonly List<(Regex Pattern, bool DirectoryOnly)> _ignored = [];

    public ProjectFiles(string root)
    {
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var gitignore = Path.Combine(Root, ".gitignore");
        if (File.Exists(gitignore))
            foreach (var raw in File.ReadAllLines(gitignore))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line[0] is '#' or '!' || GitGlob.ToRegex(line, ignoreCase: false) is not { } p) continue;
                _ignored.Add(p);
                IgnoreLines.Add(line);
            }
    }

    public string Root { get; }

    /// <summary>The root <c>.gitignore</c>'s patterns as written (ripgrep is told them to skip those folders early).</summary>
    public List<string> IgnoreLines { get; } = [];

    /// <summary>The full path of a project-relative (or absolute) path to read, or why it may not be read.</summary>
    public (string? FullPath, string? Refusal) Check(string path)
    {
        var full = Path.GetFullPath(Path.Combine(Root, path));
        if (!IsInside(full) || RealPath(full) is not { } real) return (null, Outside);
        if (IsSecret(Relative(full)) || IsSecret(Relative(real)) || (File.Exists(real) && HoldsSecret(real))) return (null, Blocked);
        return (full, null);
    }

    /// <summary>Like <see cref="Check"/>, for a path a tool would write: version-control folders are refused too
    /// (a written <c>.git/config</c> or hook runs commands at the user's next <c>git</c>).</summary>
    public (string? FullPath, string? Refusal) CheckWrite(string path)
    {
        var full = Path.GetFullPath(Path.Combine(Root, path));
        if (IsInside(full) && RealPath(full) is { } real && (IsVersionControl(Relative(full)) || IsVersionControl(Relative(real))))
            return (null, VersionControl);
        return Check(path);
    }

    /// <summary>Where a path really leads, each link inside the project followed; null when that is outside the project.</summary>
    string? RealPath(string full)
    {
        var pending = new Queue<string>(Relative(full).Split('/').Where(p => p is not ("." or "")));
        var current = Root;
        for (var hops = 0; pending.TryDequeue(out var part);)
        {
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is { } target)
            {
                if (++hops > 40) return null;
                var resolved = Path.GetFullPath(target, current);
                if (!IsInside(resolved)) return null;
                pending = new Queue<string>(Relative(resolved).Split('/').Where(p => p is not ("." or "")).Concat(pending));
                current = Root;
                continue;
            }
            current = next;
        }
        return current;
    }

    public string Relative(string fullPath) => Path.GetRelativePath(Root, fullPath).Replace('\\', '/');

    bool IsInside(string full) => full == Root || full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    static bool IsVersionControl(string relative) =>
        relative.Split('/').Any(part => VcsFolders.Contains(part, StringComparer.OrdinalIgnoreCase));

    /// <summary>Paths that may hold secrets (clients.md §2.7, widened): key files, credential stores of git, gh, npm,
    /// pip, docker, kubectl, cloud SDKs, <c>.env</c> files; examples and templates of them are fine.</summary>
    static bool IsSecret(string relative)
    {
        var lower = relative.Replace('\\', '/').ToLowerInvariant();
        var name = lower[(lower.LastIndexOf('/') + 1)..];
        var template = name.Contains("example") || name.Contains("sample") || name.Contains("template");
        if (name.StartsWith(".env", StringComparison.Ordinal)) return !template;
        if (name.Contains("credentials") && name.EndsWith(".json", StringComparison.Ordinal)) return !template;
        if (name is ".netrc" or "_netrc" or ".npmrc" or ".pypirc" or ".pgpass" or ".git-credentials" or ".htpasswd" or ".dockercfg" or "auth.json" or "credentials")
            return true;
        // A remote URL or extraheader in .git/config may carry a token.
        var path = "/" + lower;
        if (path.EndsWith("/gh/hosts.yml", StringComparison.Ordinal) || path.EndsWith("/.git/config", StringComparison.Ordinal)
            || path.EndsWith("/.docker/config.json", StringComparison.Ordinal) || path.EndsWith("/.kube/config", StringComparison.Ordinal))
            return true;
        var pub = name.EndsWith(".pub", StringComparison.Ordinal);
        if (path.Contains("/.ssh/") && !pub && name != "known_hosts") return true;
        if (name.StartsWith("id_rsa", StringComparison.Ordinal) || name.StartsWith("id_ed25519", StringComparison.Ordinal)
            || name.StartsWith("id_ecdsa", StringComparison.Ordinal) || name.StartsWith("id_dsa", StringComparison.Ordinal))
            return !pub;
        if (name.Contains("kubeconfig") || name.EndsWith(".tfstate", StringComparison.Ordinal) || name.EndsWith(".tfstate.backup", StringComparison.Ordinal)) return true;
        return Path.GetExtension(name) is ".pem" or ".key" or ".p12" or ".pfx" or ".jks" or ".keystore" or ".crt" or ".cer" or ".ppk";
    }

    [GeneratedRegex(@"^-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----\r?$|^\s*aws_secret_access_key\s*[=:]", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex SecretContent();

    /// <summary>Content that looks like a credential whatever the file is called: a private key, an AWS secret key.</summary>
    static bool HoldsSecret(string fullPath)
    {
        try
        {
            using var stream = File.OpenRead(fullPath);
            var buffer = new byte[256 * 1024];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return SecretContent().IsMatch(Encoding.UTF8.GetString(buffer, 0, read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The secret rule for a file outside any project (a user-level knowledge file): by its name, the name
    /// of what it links to, and its content.</summary>
    public static bool IsSecretFile(string fullPath)
    {
        var real = new FileInfo(fullPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? fullPath;
        return IsSecret(fullPath) || IsSecret(real) || (File.Exists(real) && HoldsSecret(real));
    }

    /// <summary>True for what listings and searches skip: version-control folders, ignored paths and secret paths.</summary>
    public bool IsHidden(string relative, bool isDirectory)
    {
        if (IsVersionControl(relative)) return true;
        if (!isDirectory && IsSecret(relative)) return true;
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

    /// <summary>Every visible file under a project folder, as project-relative paths in a stable order. Links are not
    /// followed (as ripgrep does not follow them).</summary>
    public IEnumerable<string> EnumerateFiles(string? under = null)
    {
        var start = under is null ? Root : Check(under).FullPath;
        if (start is null || !Directory.Exists(start)) yield break;
        var pending = new Stack<string>([start]);
        while (pending.TryPop(out var dir))
        {
            foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
                if (!IsHidden(Relative(file), false) && new FileInfo(file).LinkTarget is null) yield return Relative(file);
            foreach (var sub in Directory.EnumerateDirectories(dir).OrderDescending(StringComparer.Ordinal))
                if (!IsHidden(Relative(sub), true) && new DirectoryInfo(sub).LinkTarget is null) pending.Push(sub);
        }
    }
}
