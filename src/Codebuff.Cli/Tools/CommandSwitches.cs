using System.CommandLine;

namespace Codebuff.Cli.Tools;

/// <summary>The command-line switches that make a session's <see cref="CommandApproval"/>.</summary>
public sealed class CommandSwitches
{
    readonly Option<string> _sandbox = new Option<string>("--sandbox")
    {
        Description = "Where commands run: workspace-write (default), read-only or off (see the table above)",
        DefaultValueFactory = _ => "workspace-write",
    }.AcceptOnlyFromAmong("workspace-write", "read-only", "off");

    readonly Option<string?> _approve = new Option<string?>("--approve")
    {
        Description = "Whether commands run: ask, auto or deny (default: auto in a sandbox, else ask)",
    }.AcceptOnlyFromAmong("ask", "auto", "deny");

    readonly Option<bool> _network = new("--network") { Description = "Let sandboxed commands use the network (also CODEBUFF_NETWORK=1)" };

    readonly Option<string[]> _env = new("--env")
    {
        Description = "Keep this secret-looking environment variable for commands (repeatable)", Arity = ArgumentArity.OneOrMore, HelpName = "NAME",
    };

    public IEnumerable<Option> All => [_sandbox, _approve, _network, _env];

    /// <summary>The session's rules; <paramref name="yes"/> is <c>--yes</c>, the shorthand of <c>--approve auto</c>.</summary>
    public CommandApproval Read(ParseResult parse, bool yes, CliHost host, string project)
    {
        var mode = parse.GetValue(_sandbox) switch { "read-only" => SandboxMode.ReadOnly, "off" => SandboxMode.Off, _ => SandboxMode.WorkspaceWrite };
        var approve = parse.GetValue(_approve) switch
        {
            "ask" => Approval.Ask,
            "auto" => Approval.Auto,
            "deny" => Approval.Deny,
            _ => yes ? Approval.Auto : (Approval?)null,
        };
        var network = parse.GetValue(_network) || host.Env("CODEBUFF_NETWORK") is "1" or "true";
        var sandbox = new Sandbox(mode, network, parse.GetValue(_env) ?? [], project, host.Home, host.Environment, host.Env("CODEBUFF_BWRAP"));
        return new CommandApproval(sandbox, approve);
    }
}
