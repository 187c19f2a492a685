using System.Collections.Concurrent;
using System.Diagnostics;

namespace Codebuff.Cli.Tools;

public enum SandboxMode { WorkspaceWrite, ReadOnly, Off }

/// <summary>
/// Where terminal commands run. On Linux with bubblewrap: the file system read-only except the project (in
/// workspace-write) and a private /tmp; the project's .git/config, .git/hooks, .git/info and .git/commondir read-only
/// (so a command cannot make the user's next <c>git status</c> run something; a commondir it creates is removed), and
/// in a project with no .git a private one that ends with the command; credential files of the home folder and the sockets
/// of /run hidden; no network unless allowed; no capabilities, even as root. In every mode the command's environment loses the variables
/// whose names look secret, unless passed by name.
/// </summary>
public sealed class Sandbox
{
    /// <summary>Home-relative credential stores a command never sees (directories become empty, files empty).</summary>
    static readonly string[] Hidden =
    [
        ".ssh", ".gnupg", ".aws", ".azure", ".docker", ".kube", ".password-store", ".config/gcloud", ".config/gh", ".config/hub",
        ".config/manicode", ".config/manicode-dev", ".config/manicode-test", ".config/git/credentials", ".local/share/keyrings",
        ".git-credentials", ".netrc", ".npmrc", ".pypirc", ".pgpass", ".my.cnf", ".vault-token", ".cargo/credentials",
        ".cargo/credentials.toml", ".gem/credentials", ".terraform.d/credentials.tfrc.json", ".nuget/NuGet/NuGet.Config",
        ".bash_history", ".zsh_history", ".python_history", ".psql_history", ".node_repl_history",
    ];

    static readonly string[] SecretNameParts = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"];

    /// <summary>Variables that lead to the desktop session's sockets (X11 and D-Bus listen on abstract sockets, which
    /// --network shares) or to agents: a sandboxed command does not get them unless passed by name.</summary>
    static readonly string[] SessionVariables =
        ["DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS", "SSH_AUTH_SOCK", "GPG_AGENT_INFO"];

    /// <summary>Files in .git that send git to another folder's configuration. When present they are read-only; when
    /// absent they cannot be (the mount point would create them), so one a command creates is removed when it ends.</summary>
    static readonly string[] GitRedirects = ["commondir"];

    /// <summary>The probe's verdict per bubblewrap path: null when it works, else why not.</summary>
    static readonly ConcurrentDictionary<string, string?> Probed = new();

    readonly string _root;
    readonly string _home;
    readonly IReadOnlyDictionary<string, string> _environment;
    readonly IReadOnlySet<string> _passed;
    readonly string? _bwrap;

    public Sandbox(SandboxMode mode, bool network, IEnumerable<string> passedEnv, string projectRoot, string home,
        IReadOnlyDictionary<string, string> environment, string? bwrapOverride)
    {
        Mode = mode;
        Network = network;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(projectRoot));
        _home = home;
        _environment = environment;
        _passed = passedEnv.ToHashSet(StringComparer.Ordinal);
        if (mode == SandboxMode.Off) return;
        if (!OperatingSystem.IsLinux()) { Unavailable = "commands can only be sandboxed on Linux (with bubblewrap)"; return; }
        _bwrap = bwrapOverride ?? FindOnPath("bwrap");
        Unavailable = _bwrap is null || !File.Exists(_bwrap)
            ? $"bubblewrap ({bwrapOverride ?? "bwrap"}) was not found; install it (Debian/Ubuntu: apt install bubblewrap)"
            : Probed.GetOrAdd(_bwrap, Probe);
    }

    public SandboxMode Mode { get; }
    public bool Network { get; }
    /// <summary>Why commands cannot be sandboxed here (the mode asked for one); null when they can or none was asked for.</summary>
    public string? Unavailable { get; }
    public bool IsActive => Mode != SandboxMode.Off && Unavailable is null;
    public string ModeName => Name(Mode);

    public static string Name(SandboxMode mode) => mode switch
    {
        SandboxMode.WorkspaceWrite => "workspace-write",
        SandboxMode.ReadOnly => "read-only",
        _ => "off",
    };

    public static bool IsSecretName(string name) =>
        SecretNameParts.Any(part => name.Contains(part, StringComparison.OrdinalIgnoreCase));

    /// <summary>How to start <paramref name="command"/> in <paramref name="cwd"/>: the user's shell, inside bubblewrap when active.</summary>
    public ProcessStartInfo StartInfo(string command, string cwd)
    {
        var shell = _environment.GetValueOrDefault("SHELL") is { Length: > 0 } sh && File.Exists(sh) ? sh : "/bin/sh";
        return StartInfo(shell, ["-c", command], cwd, null);
    }

    /// <summary>How to start <paramref name="program"/> with <paramref name="arguments"/> (no shell), inside bubblewrap
    /// when active; <paramref name="extraEnvironment"/> is set as given, secret-looking names included (an MCP server's
    /// configured <c>env</c>).</summary>
    public ProcessStartInfo StartInfo(string program, IReadOnlyList<string> arguments, string cwd, IReadOnlyDictionary<string, string>? extraEnvironment)
    {
        var psi = IsActive ? new ProcessStartInfo(_bwrap!, [.. BwrapArguments(cwd), "--", program, .. arguments]) : new ProcessStartInfo(program, arguments);
        psi.WorkingDirectory = cwd;
        psi.RedirectStandardOutput = psi.RedirectStandardError = psi.RedirectStandardInput = true;
        psi.Environment.Clear();
        foreach (var (name, value) in _environment)
            if ((!IsSecretName(name) && !(IsActive && SessionVariables.Contains(name))) || _passed.Contains(name)) psi.Environment[name] = value;
        psi.Environment["HOME"] = _home;
        foreach (var (name, value) in extraEnvironment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        return psi;
    }

    static IEnumerable<string> NestedGitParts(string git) =>
        new[] { "modules", "worktrees" }.Select(folder => Path.Combine(git, folder)).Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFileSystemEntries(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            .Where(path => Path.GetFileName(path) is "config" or "config.worktree" or "hooks" or "info" or "commondir"
                           && Path.GetFileName(Path.GetDirectoryName(path)) is not ("hooks" or "info" or "objects" or "refs" or "logs"));

    List<string> BwrapArguments(string cwd)
    {
        // A new session (no typing into the user's terminal), every namespace, no capabilities; the sandbox ends with the CLI.
        List<string> args = ["--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"];
        if (Network) args.Add("--share-net");
        args.AddRange(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
        // /run holds the sockets that reach past any namespace (D-Bus and systemd, Docker, SSH and GPG agents in
        // /run/user, PostgreSQL): gone, but for the DNS configuration /etc/resolv.conf may point into it.
        args.AddRange(["--tmpfs", "/run"]);
        if (Path.Exists("/etc/resolv.conf") && new FileInfo("/etc/resolv.conf").ResolveLinkTarget(returnFinalTarget: true)?.FullName is { } resolv
            && resolv.StartsWith("/run/", StringComparison.Ordinal))
            args.AddRange(["--ro-bind", resolv, resolv]);
        if (Mode == SandboxMode.ReadOnly) args.AddRange(["--ro-bind", _root, _root]);
        else
        {
            args.AddRange(["--bind", _root, _root]);
            var git = Path.Combine(_root, ".git");
            if (Directory.Exists(git))
            {
                // .git is its own mount so it cannot be renamed away (and a new one made) around the read-only parts.
                args.AddRange(["--bind", git, git]);
                // A missing part would be the command's to create: an empty one is what git assumes anyway.
                if (!File.Exists(Path.Combine(git, "config"))) File.WriteAllBytes(Path.Combine(git, "config"), []);
                Directory.CreateDirectory(Path.Combine(git, "hooks"));
                Directory.CreateDirectory(Path.Combine(git, "info"));
                foreach (var part in new[] { "config", "hooks", "info" }.Concat(GitRedirects.Where(r => File.Exists(Path.Combine(git, r)))))
                    args.AddRange(["--ro-bind", Path.Combine(git, part), Path.Combine(git, part)]);
                // Submodules' and worktrees' own git folders: git runs their configuration and hooks too.
                foreach (var part in NestedGitParts(git)) args.AddRange(["--ro-bind", part, part]);
            }
            // A worktree's or submodule checkout's .git is a file naming its git folder: rewritten, it could name one
            // the command made, with any configuration.
            else if (File.Exists(git)) args.AddRange(["--ro-bind", git, git]);
            // No repository here: one a command made (git init, then a core.fsmonitor or a hook) would run at the
            // user's next git command in the project, or at a shell prompt that shows git status on entering it, and
            // it would shadow a repository of a parent folder. Its .git is the command's own tmpfs, gone when it ends;
            // the empty folder left as the mount point is removed then (RemoveMountPoint), and git skips an empty .git.
            else if (new FileInfo(git).LinkTarget is null) args.AddRange(["--tmpfs", git]);
        }
        // Last, so they also cover a project that is the home folder itself.
        foreach (var relative in Hidden)
        {
            var path = Path.Combine(_home, relative);
            if (Directory.Exists(path)) args.AddRange(["--tmpfs", path]);
            else if (File.Exists(path)) args.AddRange(["--ro-bind", "/dev/null", path]);
        }
        args.AddRange(["--chdir", cwd]);
        return args;
    }

    /// <summary>
    /// After a command: removes the <see cref="GitRedirects"/> it created in the project's .git (they did not exist
    /// when the command started, or they would have been read-only) and says so; null when there were none.
    /// </summary>
    public string? RemovePlanted(IReadOnlyCollection<string> absentBefore)
    {
        var planted = absentBefore.Where(Path.Exists).ToArray();
        foreach (var path in planted)
        {
            if (Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        return planted.Length == 0 ? null
            : $"[sandbox {ModeName}] Removed {string.Join(", ", planted.Select(p => Path.GetRelativePath(_root, p)))}: it would make git read another folder's configuration.";
    }

    /// <summary>
    /// After a command in a project with no .git: removes the empty folder the sandbox's private .git was mounted on
    /// (another command still running keeps its own mount; the folder it sees there is not this one).
    /// </summary>
    public void RemoveMountPoint(bool hadNoGit)
    {
        var git = Path.Combine(_root, ".git");
        if (!hadNoGit || new DirectoryInfo(git) is not { Exists: true, LinkTarget: null } folder) return;
        try { if (!folder.EnumerateFileSystemInfos().Any()) folder.Delete(); }
        catch (IOException) { } // still a mount point of a command running in parallel, or filled by the user meanwhile
    }

    /// <summary>Whether a command starting now gets a private .git (the project has none, <see cref="BwrapArguments"/>).</summary>
    public bool GetsPrivateGit() =>
        IsActive && Mode == SandboxMode.WorkspaceWrite && !Path.Exists(Path.Combine(_root, ".git")) && new FileInfo(Path.Combine(_root, ".git")).LinkTarget is null;

    /// <summary>The <see cref="GitRedirects"/> of the project's .git that do not exist now (before a command).</summary>
    public IReadOnlyCollection<string> AbsentGitRedirects() =>
        IsActive && Mode == SandboxMode.WorkspaceWrite && Directory.Exists(Path.Combine(_root, ".git"))
            ? GitRedirects.Select(r => Path.Combine(_root, ".git", r)).Where(p => !Path.Exists(p)).ToArray()
            : [];

    /// <summary>
    /// One line for a failed command's result when the sandbox is the likely cause: the mode and the switch that allows
    /// what was refused. Null otherwise.
    /// </summary>
    public string? Hint(string output, int? exitCode)
    {
        if (!IsActive || exitCode is 0 or null) return null;
        if (!Network && NetworkErrors.Any(e => output.Contains(e, StringComparison.OrdinalIgnoreCase)))
            return $"[sandbox {ModeName}] Commands have no network here; codebuff --network allows it.";
        if (WriteErrors.Any(e => output.Contains(e, StringComparison.OrdinalIgnoreCase)))
            return Mode == SandboxMode.ReadOnly
                ? "[sandbox read-only] Commands cannot write files; codebuff --sandbox workspace-write lets them write in the project, --sandbox off lifts the sandbox."
                : "[sandbox workspace-write] Commands write only in the project (not .git/config, .git/hooks, .git/info) and cannot read credential files; codebuff --sandbox off lifts the sandbox.";
        return null;
    }

    static readonly string[] NetworkErrors =
    [
        "Could not resolve", "Temporary failure in name resolution", "Name or service not known", "Network is unreachable",
        "Connection refused", "Failed to connect", "Couldn't connect", "getaddrinfo", "ENOTFOUND", "ECONNREFUSED", "EAI_AGAIN",
    ];

    static readonly string[] WriteErrors =
    [
        "Read-only file system", "Permission denied", "Operation not permitted", "Device or resource busy",
        "could not write config", "could not lock config", "EROFS", "EACCES", "EPERM",
    ];

    static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>bubblewrap can be installed and still refused (user namespaces turned off, AppArmor): try it once.</summary>
    static string? Probe(string bwrap)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(bwrap, ["--unshare-all", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--", "/bin/sh", "-c", ":"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            })!;
            var error = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(10))) { p.Kill(); return "bubblewrap did not answer"; }
            return p.ExitCode == 0 ? null : $"bubblewrap does not work here ({error.Result.Trim()})";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"bubblewrap could not be started ({e.Message})";
        }
    }
}
