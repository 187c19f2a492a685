using Codebuff.Cli.Accounts;
using Codebuff.Cli.Runs;
using Spectre.Console;

namespace Codebuff.Cli.Ui;

/// <summary>
/// Interactive mode (clients.md §2.5, §2.6): a prompt line with history, each run shown as a live message tree, and the
/// slash commands that apply here: /help, /new, /usage, /init, /logout, /exit, /mode:…. Esc or Ctrl+C stops a run.
/// </summary>
public sealed class Repl(CliHost host, PromptRunner runner, Mode mode)
{
    static readonly string[] Commands = ["/help", "/new", "/usage", "/init", "/logout", "/exit", "/mode:default", "/mode:free", "/mode:max", "/mode:plan"];

    public async Task<int> RunAsync(string? first, CancellationToken ct)
    {
        var editor = new LineEditor(host, Commands);
        host.Console.MarkupLine($"[bold]Codebuff[/] [dim]· {Markup.Escape(runner.Files.Root)} · {mode.Name} · /help for commands[/]");
        var next = first;
        while (!ct.IsCancellationRequested)
        {
            next ??= editor.ReadLine($"{mode.Name.ToLowerInvariant()}> ");
            if (next is null) break;
            var line = next.Trim();
            next = null;
            if (line.Length == 0) continue;
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

    async Task RunOneAsync(string prompt, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var interrupt = host.Interrupts.Use(stop.Cancel);
        var keys = host.Interactive ? Task.Run(() => WatchEscape(stop), CancellationToken.None) : Task.CompletedTask;
        try
        {
            await new LiveRun(host.Console, runner).RunAsync(prompt, stop.Token);
        }
        catch (CliException e)
        {
            var explained = await runner.ExplainAsync(e);
            host.Console.Write(new Panel(new Text(explained.Message)).Header("Error").BorderColor(Color.Red));
        }
        finally
        {
            await stop.CancelAsync();
            await keys;
        }
    }

    /// <summary>Esc during a run stops it. Keys are left alone while a question is on screen.</summary>
    void WatchEscape(CancellationTokenSource stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (!runner.Prompter.Asking && Console.KeyAvailable && Console.ReadKey(intercept: true).Key == ConsoleKey.Escape)
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
    }

    static Panel Help() => new Panel(new Markup(string.Join('\n',
        "[bold]Type a request[/] and press Enter. Esc or Ctrl+C stops a run; Ctrl+C at the prompt or Ctrl+D exits.",
        "↑/↓ history · Tab completes commands · Ctrl+J newline",
        "/new [[msg]]      start a new chat (aliases /clear, /reset)",
        "/mode:default|free|max|plan [[msg]]   switch mode",
        "/usage           credits: balance, next reset, this session",
        "/init            create knowledge.md and .agents/",
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
