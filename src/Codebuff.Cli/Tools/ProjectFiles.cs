using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;

namespace Codebuff.Cli.Tools;

/// <summary>
/// The project the tools work in and the file filter of clients.md §2.7, the one home of these rules for every tool:
/// nothing outside the project root is read or written (links are followed to where they lead), secrets are never
/// read, searched or overwritten (by path and by content; checked again on what was opened, so a link swapped in
/// after a check is caught), nothing under <c>.git/</c>, <c>.hg/</c> or <c>.svn/</c> is
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

    /// <summary>The full path of a project-relative (or absolute) path to read, or why it may not be read. A check by
    /// name only: what reads or writes uses <see cref="Read"/>, <see cref="Write"/> and <see cref="Delete"/>, which
    /// check again what they opened.</summary>
    public (string? FullPath, string? Refusal) Check(string path)
    {
        var (full, real, refusal) = Resolve(path, write: false);
        if (refusal is null && File.Exists(real) && HoldsSecret(real!)) refusal = Blocked;
        return refusal is null ? (full, null) : (null, refusal);
    }

    /// <summary>The path as asked (<c>Full</c>) and with the project's links followed (<c>Real</c>), or why it may not be
    /// used. Writes also refuse version-control folders (a written <c>.git/config</c> or hook runs commands at the
    /// user's next <c>git</c>).</summary>
    (string? Full, string? Real, string? Refusal) Resolve(string path, bool write)
    {
        var full = Path.GetFullPath(Path.Combine(Root, path));
        if (!IsInside(full) || RealPath(full) is not { } real) return (null, null, Outside);
        if (write && (IsVersionControl(Relative(full)) || IsVersionControl(Relative(real)))) return (null, null, VersionControl);
        if (IsSecret(Relative(full)) || IsSecret(Relative(real))) return (null, null, Blocked);
        return (full, real, null);
    }

    /// <summary>Test seam: runs with a path that passed its check just before it is opened, so a test can swap it for a
    /// link as a racing command could.</summary>
    internal Action<string>? AfterCheck { get; set; }

    /// <summary>A file's bytes (null when there is no such file), or why it may not be read. The check is repeated on
    /// the opened file, so a link swapped in after the check is caught. <paramref name="toWrite"/>: refused as
    /// <see cref="Write"/> would refuse it.</summary>
    public (byte[]? Content, string? Refusal) Read(string path, bool toWrite = false)
    {
        var (full, real, refusal) = Resolve(path, toWrite);
        if (refusal is not null) return (null, refusal);
        AfterCheck?.Invoke(full!);
        FileStream stream;
        try { stream = new FileStream(real!, FileMode.Open, FileAccess.Read); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException || (e is UnauthorizedAccessException && Directory.Exists(real))) { return (null, null); }
        using (stream) return ReadOpened(stream, toWrite);
    }

    (byte[]? Content, string? Refusal) ReadOpened(FileStream stream, bool write)
    {
        if (VerifyOpened(stream.SafeFileHandle, null, write) is { } refusal) return (null, refusal);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.ToArray();
        return SecretContent().IsMatch(Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, SecretScanBytes))) ? (null, Blocked) : (bytes, null);
    }

    /// <summary>
    /// Replaces a file's content, returning its full path and what it held before (null when it is new), or why it may
    /// not be written. Each folder on the way is opened and checked to be the project's, then the content goes to a
    /// new file in that opened folder and is renamed over the old one: a link swapped in at any point after the check
    /// is refused or replaced, never written through.
    /// </summary>
    public (string? FullPath, byte[]? Before, string? Refusal) Write(string path, byte[] content)
    {
        var (full, real, refusal) = Resolve(path, write: true);
        if (refusal is not null) return (null, null, refusal);
        AfterCheck?.Invoke(full!);
        var name = Path.GetFileName(real!);
        using var folder = OpenFolder(Path.GetDirectoryName(real)!, create: true);
        if (folder is null) return (null, null, Outside);
        if (VerifyOpened(folder, name, write: true) is { } denied) return (null, null, denied);
        var opened = FolderPath(folder, real!);
        var target = Path.Combine(opened, name);

        byte[]? before = null;
        UnixFileMode? mode = null;
        if (File.Exists(target))
        {
            using var old = new FileStream(target, FileMode.Open, FileAccess.Read);
            (before, denied) = ReadOpened(old, write: true);
            if (denied is not null) return (null, null, denied);
            mode = File.GetUnixFileMode(old.SafeFileHandle);
        }
        var temporary = Path.Combine(opened, $".{name}.{Guid.NewGuid():N}.codebuff");
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
        {
            if (mode is { } m) File.SetUnixFileMode(stream.SafeFileHandle, m);
            stream.Write(content);
        }
        File.Move(temporary, target, overwrite: true);
        return (Written(folder, real!, name), before, null);
    }

    /// <summary>
    /// Deletes a file (apply_patch's delete, undo of a file a run created), checked like <see cref="Write"/>: its full
    /// path as <see cref="Write"/> names it (so the journal keys both alike), or why it may not be deleted.
    /// </summary>
    public (string? FullPath, string? Refusal) Delete(string path)
    {
        var (full, real, refusal) = Resolve(path, write: true);
        if (refusal is not null) return (null, refusal);
        AfterCheck?.Invoke(full!);
        var name = Path.GetFileName(real!);
        using var folder = OpenFolder(Path.GetDirectoryName(real)!, create: false);
        if (folder is null) return (null, Outside);
        if (VerifyOpened(folder, name, write: true) is { } denied) return (null, denied);
        File.Delete(Path.Combine(FolderPath(folder, real!), name));
        return (Written(folder, real!, name), null);
    }

    /// <summary>The project path of a file written or deleted in an opened folder (its links within the project followed).</summary>
    string Written(SafeFileHandle folder, string real, string name) =>
        Path.Combine(Root, Path.GetRelativePath(RealRoot, Path.Combine(OpenedPath(folder) ?? Path.GetDirectoryName(real)!, name)));

    /// <summary>Opens a project folder one part at a time from the root, each through the one opened before it and
    /// checked to be inside the project (a part may be a link within it); null when one leads out or is missing.</summary>
    SafeFileHandle? OpenFolder(string realFolder, bool create)
    {
        if (!Pinned)
        {
            if (create) Directory.CreateDirectory(realFolder);
            return OpenPath(realFolder);
        }
        var handle = OpenPath(RealRoot);
        foreach (var part in Relative(realFolder).Split('/').Where(p => p is not ("." or "")))
        {
            if (handle is null) return null;
            var next = $"/proc/self/fd/{handle.DangerousGetHandle()}/{part}";
            if (create && !Path.Exists(next))
                try { Directory.CreateDirectory(next); }
                catch (IOException) { } // a dangling link: opening it fails below
            var opened = OpenPath(next);
            handle.Dispose();
            handle = opened;
            if (handle is not null && !IsUnderRealRoot(OpenedPath(handle)))
            {
                handle.Dispose();
                return null;
            }
        }
        return handle;
    }

    /// <summary>Why what <paramref name="handle"/> opened (or <paramref name="name"/> in that folder) may not be used, by
    /// where it really is: outside the project, a secret's path, or for writes a version-control folder.</summary>
    string? VerifyOpened(SafeHandle handle, string? name, bool write)
    {
        if (!Pinned) return null;
        var opened = OpenedPath(handle);
        if (opened is null || !IsUnderRealRoot(opened)) return Outside;
        var relative = Path.GetRelativePath(RealRoot, name is null ? opened : Path.Combine(opened, name)).Replace('\\', '/');
        if (write && IsVersionControl(relative)) return VersionControl;
        return IsSecret(relative) ? Blocked : null;
    }

    /// <summary>The root with every link resolved, as the kernel names opened files.</summary>
    string RealRoot => _realRoot ??= (OpenPath(Root) is { } h ? Using(h, OpenedPath) : null) ?? Root;
    string? _realRoot;

    static T Using<T>(SafeFileHandle handle, Func<SafeFileHandle, T> use) { using (handle) return use(handle); }

    bool IsUnderRealRoot(string? path) => path is not null && (path == RealRoot || path.StartsWith(RealRoot + "/", StringComparison.Ordinal));

    /// <summary>Linux names what a process opened in /proc; elsewhere (macOS) the checks are by name only.</summary>
    static readonly bool Pinned = OperatingSystem.IsLinux();

    /// <summary>Where an opened file or folder really is.</summary>
    static string? OpenedPath(SafeHandle handle) => Pinned ? new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget : null;

    /// <summary>A path that reaches into the opened folder itself (not whatever its name leads to by now).</summary>
    static string FolderPath(SafeHandle folder, string real) => Pinned ? $"/proc/self/fd/{folder.DangerousGetHandle()}" : Path.GetDirectoryName(real)!;

    static SafeFileHandle? OpenPath(string path)
    {
        var fd = open(path, Pinned ? OpenReadOnlyCloseOnExec : 0);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC; .NET cannot open a folder

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

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

    const int SecretScanBytes = 256 * 1024;

    /// <summary>Content that looks like a credential whatever the file is called: a private key, an AWS secret key.</summary>
    static bool HoldsSecret(string fullPath)
    {
        try
        {
            using var stream = File.OpenRead(fullPath);
            var buffer = new byte[SecretScanBytes];
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
