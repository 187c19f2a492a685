using Codebuff.Cli.Accounts;
using Codebuff.Cli.Agents;
using Codebuff.Cli.Runs;
using Codebuff.Cli.Tools;
using Spectre.Console;

namespace Codebuff.Cli.Ui;

/// <summary>
/// Interactive mode (clients.md §2.5, §2.6): a prompt line with history, each run shown as a live message tree, and the
/// slash commands that apply here: /help, /new, /usage, /init, /publish, /bash, /logout, /exit, /mode:…. A line starting
/// with <c>!</c> runs a shell command in the project (sandboxed and approved as the model's commands are); its output is
/// shown and goes with the next prompt as context. A bare <c>!</c> enters bash mode until <c>exit</c> or another bare <c>!</c>.
/// Esc or Ctrl+C stops a run or a command.
/// </summary>
public sealed class Repl(CliHost host, PromptRunner runner, Mode mode)
{
    static readonly string[] Commands = ["/help", "/new", "/usage", "/init", "/publish", "/bash", "/logout", "/exit", "/mode:default", "/mode:free", "/mode:max", "/mode:plan"];
    /// <summary>How much of a command's output goes with the next prompt.</summary>
    const int MaxContextChars = 20_000;

    /// <summary>Output of !commands run since the last prompt, sent ahead of the next one.</summary>
    string? _shellContext;
    bool _bashMode;

    public async Task<int> RunAsync(string? first, CancellationToken ct)
    {
        var editor = new LineEditor(host, Commands);
        host.Console.MarkupLine($"[bold]Codebuff[/] [dim]· {Markup.Escape(runner.Files.Root)} · {mode.Name} · /help for commands[/]");
        var next = first;
        while (!ct.IsCancellationRequested)
        {
            next ??= editor.ReadLine(_bashMode ? "bash$ " : $"{mode.Name.ToLowerInvariant()}> ");
            if (next is null) break;
            var line = next.Trim();
            next = null;
            if (line.Length == 0) continue;
            if (_bashMode)
            {
                if (line is "!" or "exit") { _bashMode = false; host.Console.MarkupLine("[dim]Left bash mode.[/]"); }
                else await RunShellAsync(line, ct);
                continue;
            }
            if (line.StartsWith('!'))
            {
                if (line == "!") EnterBashMode();
                else await RunShellAsync(line[1..].Trim(), ct);
                continue;
            }
            var (command, rest) = Split(line);
            switch (command)
            {
                case "/exit" or "/quit" or "/q" or "exit" or "quit":
                    return 0;
                case "/help" or "/h" or "/?" or "help":
                    host.Console.Write(Help());
                    continue;
                case "/new" or "/n" or "/clear" or "/c" or "/reset" or "new" or "clear":
                    runner.NewChat();
                    host.Console.MarkupLine("[dim]New chat.[/]");
                    next = rest;
                    continue;
                case "/usage" or "/credits":
                    var usage = await runner.Api.UsageAsync(null, ct);
                    host.Console.Write(AccountCommands.UsageBanner(usage, runner.Api.AppUrl, runner.SessionCredits));
                    continue;
                case "/init" or "init":
                    Init();
                    continue;
                case "/publish":
                    await PublishAsync(rest, ct);
                    continue;
                case "/bash" or "/!":
                    if (rest is null) EnterBashMode();
                    else await RunShellAsync(rest, ct);
                    continue;
                case "/logout" or "/signout" or "logout":
                    await AccountCommands.LogoutAsync(host, ct);
                    return 0;
                case not null when command.StartsWith("/mode:", StringComparison.Ordinal):
                    if (Mode.Find(command["/mode:".Length..]) is not { } picked) { host.Console.MarkupLine("[red]Modes are default, free, max and plan.[/]"); continue; }
                    mode = picked;
                    runner.SetMode(mode);
                    host.Console.MarkupLineInterpolated($"[dim]Mode {mode.Name}: agent {mode.AgentId}.[/]");
                    next = rest;
                    continue;
                case not null when command.StartsWith('/'):
                    host.Console.MarkupLineInterpolated($"[red]Unknown command {command}; /help lists them.[/]");
                    continue;
            }
            await RunOneAsync(line, ct);
        }
        return 0;
    }

    void EnterBashMode()
    {
        _bashMode = true;
        host.Console.MarkupLine("[dim]Bash mode: each line runs in the project. A bare ! or exit leaves.[/]");
    }

    /// <summary>/publish [ids…]: as <c>codebuff publish</c>, from this project's .agents/ (clients.md §2.10).</summary>
    async Task PublishAsync(string? ids, CancellationToken ct)
    {
        try
        {
            await PublishCommands.PublishAsync(host, runner.Files.Root, ids?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [], ct);
        }
        catch (CliException e)
        {
            ShowError(e.Message);
        }
    }

    /// <summary>A !command: approved and sandboxed as the model's commands are, run in the project (Esc or Ctrl+C stops it), its output shown and kept for the next prompt.</summary>
    async Task RunShellAsync(string command, CancellationToken ct)
    {
        if (await runner.Options.Commands.RefusalAsync(runner.Prompter, command, "the project", ct) is { } refusal)
        {
            host.Console.MarkupLine(runner.Prompter.Interactive ? "[dim]Not run.[/]" : $"[yellow]{Markup.Escape(refusal)}[/]");
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var interrupt = host.Interrupts.Use(stop.Cancel);
        var keys = host.Interactive ? Task.Run(() => WatchEscape(stop), CancellationToken.None) : Task.CompletedTask;
        ShellCommand.Result result;
        try
        {
            result = await ShellCommand.RunAsync(runner.Options.Commands.Sandbox, command, runner.Files.Root, null, stop.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            host.Console.MarkupLine("[dim]Stopped.[/]");
            return;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            ShowError($"The command could not be started: {e.Message}");
            return;
        }
        finally
        {
            await stop.CancelAsync();
            await keys;
        }
        var output = (result.Stdout + result.StderrWithHint).TrimEnd('\n');
        host.Console.MarkupLineInterpolated($"[bold]$ {command}[/] [{(result.ExitCode == 0 ? "dim" : "yellow")}]· exit {result.ExitCode}[/]");
        host.Console.Write(new Panel(output.Length == 0 ? new Markup("[dim](no output)[/]") : new Text(output)).BorderColor(result.ExitCode == 0 ? Color.Grey : Color.Yellow));
        var kept = output.Length <= MaxContextChars ? output : output[..MaxContextChars] + $"\n[… {output.Length - MaxContextChars} more characters]";
        _shellContext += $"I ran `{command}` in the project (exit code {result.ExitCode}). Its output:\n```\n{kept}\n```\n";
    }

    void ShowError(string message) => host.Console.Write(new Panel(new Text(message)).Header("Error").BorderColor(Color.Red));

    async Task RunOneAsync(string prompt, CancellationToken ct)
    {
        if (_shellContext is not null)
        {
            prompt = _shellContext + "\n" + prompt;
            _shellContext = null;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var interrupt = host.Interrupts.Use(stop.Cancel);
        var keys = host.Interactive ? Task.Run(() => WatchEscape(stop), CancellationToken.None) : Task.CompletedTask;
        try
        {
            await new LiveRun(host.Console, runner).RunAsync(prompt, stop.Token);
        }
        catch (CliException e)
        {
            ShowError((await runner.ExplainAsync(e)).Message);
        }
        finally
        {
            await stop.CancelAsync();
            await keys;
        }
    }

    /// <summary>Esc during a run stops it; other keys typed during a run are dropped. Keys are left alone while a question is on screen.</summary>
    void WatchEscape(CancellationTokenSource stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (runner.Prompter.ReadKeyUnlessAsking() is { Key: ConsoleKey.Escape })
            {
                stop.Cancel();
                return;
            }
            Thread.Sleep(50);
        }
    }

    void Init()
    {
        var root = runner.Files.Root;
        var made = new List<string>();
        var knowledge = Path.Combine(root, "knowledge.md");
        if (!File.Exists(knowledge))
        {
            File.WriteAllText(knowledge, "# Project knowledge\n\nWhat an assistant should know about this project: how to build and test it, conventions, pitfalls.\n");
            made.Add("knowledge.md");
        }
        var agents = Path.Combine(root, ".agents");
        if (!Directory.Exists(agents))
        {
            Directory.CreateDirectory(agents);
            File.WriteAllText(Path.Combine(agents, "my-agent.json"), """
                {
                  "id": "my-agent",
                  "displayName": "My Agent",
                  "model": "anthropic/claude-sonnet-4.5",
                  "toolNames": ["read_files", "code_search", "end_turn"],
                  "systemPrompt": "You are a helpful assistant for this project.",
                  "instructionsPrompt": "Answer the user's question using the project's files."
                }

                """);
            made.Add(".agents/my-agent.json");
        }
        if (made.Count == 0) host.Console.MarkupLine("knowledge.md and .agents/ already exist.");
        else host.Console.MarkupLineInterpolated($"Created {string.Join(", ", made)}.");
        ShowKnowledge(host, runner.Files);
    }

    /// <summary>The knowledge files a prompt would read now; /init (and any init) ends with it.</summary>
    public static void ShowKnowledge(CliHost host, ProjectFiles files) =>
        host.Console.WriteLine($"Knowledge files read into the agent's context:\n{ProjectContext.LoadKnowledge(host, files).Describe()}");

    static Panel Help() => new Panel(new Markup(string.Join('\n',
        "[bold]Type a request[/] and press Enter. Esc or Ctrl+C stops a run; Ctrl+C at the prompt or Ctrl+D exits.",
        "↑/↓ history · Tab completes commands · Ctrl+J newline",
        "/new [[msg]]      start a new chat (aliases /clear, /reset)",
        "/mode:default|free|max|plan [[msg]]   switch mode",
        "/usage           credits: balance, next reset, this session",
        "/init            create knowledge.md and .agents/, list the knowledge files read",
        "/publish [[ids]]   publish agents from .agents/ (all, or these ids or names)",
        "!cmd             run a shell command in the project (asks first unless --yes); its output goes with your next prompt",
        "! or /bash       bash mode: every line is a command, until ! or exit",
        "/logout, /exit"))).Header("Help").RoundedBorder();

    static (string? Command, string? Remainder) Split(string line)
    {
        var space = line.IndexOf(' ');
        var head = space < 0 ? line : line[..space];
        var rest = space < 0 ? null : line[(space + 1)..].Trim();
        // Bare words count as commands only when typed alone (clients.md §2.6 †).
        if (!head.StartsWith('/') && rest is not null) return (null, null);
        return (head.ToLowerInvariant(), string.IsNullOrEmpty(rest) ? null : rest);
    }
}
