namespace Codebuff.Cli.Tools;

public enum Approval { Ask, Auto, Deny }

/// <summary>
/// Whether and where the commands of a session run (run_terminal_command and the user's <c>!cmd</c> alike): the
/// sandbox, and the approval mode. Unless told, commands that run in a sandbox run unasked and commands that cannot
/// are asked about first.
/// </summary>
public sealed class CommandApproval(Sandbox sandbox, Approval? approve)
{
    /// <summary>The table of <c>--help</c> and the README: what each combination allows.</summary>
    public const string Table = """
        Commands (run_terminal_command and !cmd):
          --sandbox workspace-write  default: writes only in the project and /tmp (private); .git/config, .git/hooks,
                                     .git/info read-only; ~/.ssh, ~/.aws, ~/.config/gh, ~/.git-credentials and other
                                     credential files and the sockets of /run hidden; no network; no capabilities,
                                     even as root (Linux, bubblewrap)
          --sandbox read-only        as workspace-write, but the project is read-only too
          --sandbox off              commands run with your full rights, files and network
          --network                  lets sandboxed commands use the network
          --env NAME                 keeps NAME in commands' environment: variables whose names contain KEY, TOKEN,
                                     SECRET, PASSWORD, PASSWD or CREDENTIAL are removed in every mode
          --approve auto (--yes)     runs commands without asking
          --approve ask              asks before each command; with nobody at the keyboard (-p, piped) none runs
          --approve deny             never runs commands
          default approval           auto in a sandbox; ask with --sandbox off or where no sandbox is available
                                     (not Linux, no bubblewrap: said once at start)
          MCP servers of a project or an agent definition are asked about unless --yes, even in a sandbox
        """;

    public Sandbox Sandbox => sandbox;
    public Approval Approve { get; } = approve ?? (sandbox.IsActive ? Approval.Auto : Approval.Ask);

    /// <summary>The one sentence about a missing sandbox, when one was asked for and cannot be had.</summary>
    public string? Notice => sandbox.Unavailable is not { } why ? null : Approve == Approval.Auto
        ? $"Commands run WITHOUT a sandbox: {why}. With --approve auto they run unasked, with your full rights."
        : $"Commands run without a sandbox: {why}. Each one is asked about before it runs.";

    /// <summary>Null when the MCP server <paramref name="config"/>, which a project or an agent definition configured,
    /// may start. Only an explicit <c>--approve auto</c> (<c>--yes</c>) skips the question: the sandbox does not cover a
    /// remote server or the secrets it is handed.</summary>
    public async Task<string?> ServerRefusalAsync(UserPrompter prompter, Mcp.McpServerConfig config, CancellationToken ct) => approve switch
    {
        Approval.Auto => null,
        Approval.Deny => "Not run: commands are turned off (--approve deny).",
        _ when await prompter.ConfirmMcpServerAsync(config.Name, config.Approval(), ct) => null,
        _ => prompter.Interactive ? $"The user declined to start it ({config.Approval()})."
            : $"Not run: it needs approval ({config.Approval()}) and nobody is at the keyboard; run codebuff with --yes (--approve auto) to start it.",
    };

    /// <summary>Null when <paramref name="command"/> may run; else the sentence saying why it did not.</summary>
    public async Task<string?> RefusalAsync(UserPrompter prompter, string command, string where, CancellationToken ct) => Approve switch
    {
        Approval.Auto => null,
        Approval.Deny => "Not run: commands are turned off (--approve deny).",
        _ when await prompter.ConfirmCommandAsync(command, where, ct, sandbox.IsActive) => null,
        _ => prompter.Interactive ? "The user declined to run this command."
            : "Not run: commands need approval and nobody is at the keyboard; run codebuff with --yes (--approve auto) to run them without asking.",
    };
}
