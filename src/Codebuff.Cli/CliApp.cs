using System.CommandLine;
using Codebuff.Cli.Accounts;
using Codebuff.Cli.Agents;
using Codebuff.Cli.Runs;
using Codebuff.Cli.Tools;
using Codebuff.Cli.Ui;

namespace Codebuff.Cli;

/// <summary>The command line (clients.md §2.1): <c>codebuff [prompt]</c>, <c>-p</c>, and the subcommands.</summary>
public static partial class CliApp
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T[0-9.-]+Z$")]
    private static partial System.Text.RegularExpressions.Regex ChatId();

    public static async Task<int> RunAsync(string[] args, CliHost host)
    {
        // A subcommand is only ever the first word: "codebuff -p fix the undo command" is a prompt, and so is
        // everything after "--". Help still lists the subcommands.
        var options = args.TakeWhile(a => a != "--").ToArray();
        var help = options.Any(a => a is "-h" or "--help" or "-?");
        var root = Build(host, withSubcommands: args.Length == 0 || Subcommands.Contains(args[0]) || help, help);
        // Leading "[…]" words would be taken as System.CommandLine [directives] and dropped: guard them (the prompt
        // argument takes the guard off again). "@file" words stay words too: there are no response files.
        var guarded = args.Select((a, i) => args.Take(i + 1).All(w => w.StartsWith('[') && w.EndsWith(']')) ? DirectiveGuard + a : a).ToArray();
        try
        {
            return await root.Parse(guarded, new ParserConfiguration { ResponseFileTokenReplacer = null }).InvokeAsync(new InvocationConfiguration
            {
                Output = host.Out, Error = host.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
            }, host.Cancellation);
        }
        catch (CliException e)
        {
            host.Error.WriteLine(new Config.CliConfig(host).NameRejectedCredential(e).Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (host.Cancellation.IsCancellationRequested)
        {
            host.Error.WriteLine("Cancelled.");
            return 130;
        }
    }

    const char DirectiveGuard = '\u2060';
    static readonly string[] Subcommands = ["login", "logout", "whoami", "usage", "publish", "save-agent", "undo"];

    /// <summary>Which knowledge files are read, and which of them a run started here would read.</summary>
    static string KnowledgeHelp(CliHost host) =>
        $"Knowledge files (the agent's context; at most {Knowledge.MaxChars:N0} characters together): {Knowledge.Rule}. Found here:\n" +
        ProjectContext.LoadKnowledge(host, new ProjectFiles(host.CurrentDirectory)).Describe();

    static RootCommand Build(CliHost host, bool withSubcommands, bool help = false)
    {
        var prompt = new Argument<string[]>("prompt") { Description = "What to ask; starts an interactive session unless -p is given", Arity = ArgumentArity.ZeroOrMore };
        var print = new Option<bool>("--print", "-p") { Description = "Run the prompt, print the final answer and exit (for scripts)" };
        var json = new Option<bool>("--json") { Description = "With -p: stream one JSON event per line (text, tool calls and results, sub-agents, final answer, totals)" };
        var agent = new Option<string?>("--agent") { Description = "Run this agent (local .agents/ id, or publisher/id[@version])" };
        var cwd = new Option<string?>("--cwd") { Description = "Project directory (default: the current directory)" };
        var cont = new Option<string?>("--continue") { Description = "Continue the latest chat of this project, or the named one", Arity = ArgumentArity.ZeroOrOne };
        var yes = new Option<bool>("--yes", "-y") { Description = "Run terminal commands without asking (--approve auto)" };
        var maxCredits = new Option<decimal?>("--max-credits") { Description = "Stop the run (sub-agents included) once it has used this many credits" };
        var free = new Option<bool>("--free") { Description = "Start in FREE mode" };
        var max = new Option<bool>("--max") { Description = "Start in MAX mode" };
        var plan = new Option<bool>("--plan") { Description = "Start in PLAN mode" };
        var modeName = new Option<string?>("--mode") { Description = "Start in this mode: default, free, max or plan" };
        var commandSwitches = new CommandSwitches();

        var rootCommand = new RootCommand("Codebuff: an AI coding assistant that works in your project from the terminal.\n\n" + CommandApproval.Table +
                                          (help ? "\n\n" + KnowledgeHelp(host) : ""))
        {
            prompt, print, json, agent, cwd, cont, yes, maxCredits, free, max, plan, modeName,
        };
        foreach (var option in commandSwitches.All) rootCommand.Options.Add(option);
        rootCommand.SetAction(async (parse, ct) =>
        {
            var project = Path.GetFullPath(parse.GetValue(cwd) ?? host.CurrentDirectory, host.CurrentDirectory);
            if (!Directory.Exists(project)) throw new CliException($"The directory {project} does not exist.");
            var mode = parse.GetValue(modeName) is { } named
                ? Mode.Find(named) ?? throw new CliException($"There is no mode \"{named}\"; the modes are default, free, max and plan.")
                : parse.GetValue(free) ? Mode.Free : parse.GetValue(max) ? Mode.Max : parse.GetValue(plan) ? Mode.Plan : Mode.Default;
            var commands = commandSwitches.Read(parse, parse.GetValue(yes), host, project);
            if (commands.Notice is { } notice) host.Error.WriteLine(notice);
            var options = new RunOptions(project, commands, parse.GetValue(maxCredits), mode.CostMode);
            var continueGiven = parse.GetResult(cont) is not null;
            var text = string.Join(' ', (parse.GetValue(prompt) ?? []).Select(w => w.TrimStart(DirectiveGuard)));
            // "--continue <text>": the value is a chat id only when it looks like one; otherwise it starts the prompt.
            var chatId = parse.GetValue(cont);
            if (chatId is not null && !ChatId().IsMatch(chatId))
            {
                text = (chatId + " " + text).Trim();
                chatId = null;
            }
            using var runner = new PromptRunner(host, options, parse.GetValue(agent) ?? mode.AgentId, chatId, continueGiven);
            if (parse.GetValue(print))
            {
                if (text.Length == 0) throw new CliException("-p needs a prompt, e.g. codebuff -p \"explain this project\".");
                return await PrintMode.RunAsync(host, runner, text, parse.GetValue(json), ct);
            }
            return await new Repl(host, runner, mode).RunAsync(text.Length > 0 ? text : null, ct);
        });

        var login = new Command("login", "Log in through the browser (prints the link; works over SSH)");
        login.SetAction((_, ct) => AccountCommands.LoginAsync(host, ct));
        var logout = new Command("logout", "Log out and forget the saved credentials");
        logout.SetAction((_, ct) => AccountCommands.LogoutAsync(host, ct));
        var whoami = new Command("whoami", "Show who you are logged in as");
        whoami.SetAction((_, ct) => AccountCommands.WhoAmIAsync(host, ct));
        var org = new Option<string?>("--org") { Description = "An organization you belong to (its id or slug)" };
        var usage = new Command("usage", "Show your credit balance, its grants, the next reset") { org };
        usage.SetAction((parse, ct) => AccountCommands.UsageAsync(host, parse.GetValue(org), ct));

        var ids = new Argument<string[]>("ids") { Description = "Agent ids or display names (default: every agent in .agents/)", Arity = ArgumentArity.ZeroOrMore };
        var publish = new Command("publish", "Publish agents from .agents/ to the agent store") { ids, cwd };
        publish.SetAction((parse, ct) => PublishCommands.PublishAsync(host, ProjectOf(parse.GetValue(cwd)), parse.GetValue(ids) ?? [], ct));
        var reference = new Argument<string>("agent") { Description = "publisher/id[@version]" };
        var saveAgent = new Command("save-agent", "Copy a published agent definition into .agents/") { reference, cwd };
        saveAgent.SetAction((parse, ct) => PublishCommands.SaveAgentAsync(host, ProjectOf(parse.GetValue(cwd)), parse.GetValue(reference)!, ct));

        var runId = new Argument<string?>("run-id") { Description = "The run to undo (default: the latest run that changed files)", Arity = ArgumentArity.ZeroOrOne };
        var undoYes = new Option<bool>("--yes", "-y") { Description = "Restore without asking" };
        var undo = new Command("undo", "List the files a run changed and restore them, unless they were changed since") { runId, cwd, undoYes };
        undo.SetAction(parse => UndoCommand.Run(host, ProjectOf(parse.GetValue(cwd)), parse.GetValue(runId), parse.GetValue(undoYes)));

        if (withSubcommands)
            foreach (var c in new[] { login, logout, whoami, usage, publish, saveAgent, undo }) rootCommand.Subcommands.Add(c);
        return rootCommand;

        string ProjectOf(string? dir) => Path.GetFullPath(dir ?? host.CurrentDirectory, host.CurrentDirectory);
    }
}
