using Codebuff.Cli.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Ui;

/// <summary>
/// The interactive CLI in a real terminal (tmux): the raw-key line editor, the live message tree (AnsiConsole.Live),
/// Esc stopping a run, and history on the arrow keys, against the real server and fake-llm.mjs.
/// </summary>
public sealed class TerminalTests(CliFixture server) : IClassFixture<CliFixture>
{
    static string Binary => Path.Combine(AppContext.BaseDirectory, "codebuff");

    Tmux Start(CodebuffCli cli, params string[] args) => new(cli.Project, new Dictionary<string, string?>(cli.Env)
    {
        ["HOME"] = cli.Home, ["TERM"] = "xterm-256color", ["COLUMNS"] = null,
    }, [Binary, .. args]);

    static string LastLine(string screen) => screen.Split('\n')[^1].TrimEnd();

    /// <summary>A prompt longer than the terminal is wide, typed key by key, is drawn once; the run is drawn live as a tree.</summary>
    [TmuxFact]
    public async Task A_long_prompt_is_drawn_once_and_the_run_shows_as_a_live_tree()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        using var term = Start(cli, "--agent", "tester");
        await term.WaitForAsync("default>");
        var prompt = $$"""please keep this long request on one logical line {{new string('x', 120)}} [[tool:write_todos {"todos":[{"task":"Write tests","completed":true},{"task":"Ship","completed":false}]}]] [[reply:Hi there.]]""";
        Assert.True(prompt.Length > 160 * 1.5);
        term.Type(prompt);
        term.Keys("Enter");
        var screen = await term.WaitForAsync("4 credits · session 4 credits");

        Assert.Equal(1, CountOf(screen, "default> please keep this long request"));
        Assert.Contains("Tester (tester) completed · 4 credits", screen);
        Assert.Contains("☑ Write tests", screen);
        Assert.Contains("☐ Ship", screen);
        Assert.Contains("Hi there.", screen);
        await term.WaitAsync(s => LastLine(s) == "default>", "the next prompt");
    }

    /// <summary>↑/↓ walk the history, ← moves within the line, Ctrl+J breaks it; Ctrl+C clears a typed line, and on an empty line ends the CLI.</summary>
    [TmuxFact]
    public async Task Arrows_walk_the_history_and_ctrl_c_clears_the_line_then_exits()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        using var term = Start(cli, "--agent", "tester");
        await term.WaitForAsync("default>");
        foreach (var (line, total) in new[] { ("first [[reply:One.]]", "session 2 credits"), ("second [[reply:Two.]]", "session 4 credits") })
        {
            term.Type(line);
            term.Keys("Enter");
            await term.WaitAsync(s => s.Contains(total) && LastLine(s) == "default>", $"the run of \"{line}\"");
        }

        term.Keys("Up");
        await term.WaitAsync(s => LastLine(s) == "default> second [[reply:Two.]]", "the last line recalled");
        term.Keys("Up");
        await term.WaitAsync(s => LastLine(s) == "default> first [[reply:One.]]", "the line before it");
        term.Keys("Down");
        await term.WaitAsync(s => LastLine(s) == "default> second [[reply:Two.]]", "back down");
        term.Keys([.. Enumerable.Repeat("Left", "[[reply:Two.]]".Length)]);
        term.Type("again ");
        await term.WaitAsync(s => LastLine(s) == "default> second again [[reply:Two.]]", "an edit in the middle of the line");
        term.Keys("C-c");
        await term.WaitAsync(s => LastLine(s) == "default>", "the line cleared");
        Assert.False(term.Exited);
        term.Type("one");
        term.Keys("C-j");
        term.Type("two");
        await term.WaitAsync(s => LastLine(s) == "default> one↵two", "Ctrl+J adding a line break instead of sending");
        term.Keys("C-c");
        await term.WaitAsync(s => LastLine(s) == "default>", "the line cleared again");
        term.Keys("C-c");
        await term.WaitAsync(_ => term.Exited, "the CLI to exit");
    }

    /// <summary>Esc during a run stops it at once (the command it was running is killed) and the server holds the run as cancelled.</summary>
    [TmuxFact]
    public async Task Esc_stops_a_run_and_the_run_is_finished_as_cancelled()
    {
        var (user, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        using var term = Start(cli, "--agent", "tester", "--yes");
        await term.WaitForAsync("default>");
        var seconds = $"{Random.Shared.Next(40, 60)}.{Random.Shared.Next(100, 999)}";
        term.Type($$"""[[tool:run_terminal_command {"command":"sleep {{seconds}}"}]] [[reply:Slept.]]""");
        term.Keys("Enter");
        await term.WaitForAsync($"… run_terminal_command sleep {seconds}");
        // The tool line is drawn as the command starts; inside the sandbox the process appears once bwrap has set it up.
        for (var i = 0; i < 100 && !SleepRunning(seconds); i++) await Task.Delay(100);
        Assert.True(SleepRunning(seconds), "the command is running");
        var pressed = DateTime.UtcNow;
        term.Keys("Escape");
        var screen = await term.WaitAsync(s => s.Contains("Cancelled by the user.") && LastLine(s) == "default>", "the run to stop", seconds: 15);

        Assert.True(DateTime.UtcNow - pressed < TimeSpan.FromSeconds(10), "Esc stopped the run promptly");
        Assert.Contains("Tester (tester) cancelled", screen);
        Assert.Contains($"✗ run_terminal_command sleep {seconds} (stopped)", screen);
        Assert.DoesNotContain("└── Slept.", screen);
        for (var i = 0; i < 30 && SleepRunning(seconds); i++) await Task.Delay(100);
        Assert.False(SleepRunning(seconds), "the stopped command was killed");
        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.AsNoTracking().SingleAsync(r => r.UserId == user.Id);
        Assert.Equal("cancelled", run.Status.ToString().ToLowerInvariant());
    }

    /// <summary>Questions during a live run (a command's approval, ask_user's list) pause the tree and resume it; a !command after a run asks too.</summary>
    [TmuxFact]
    public async Task Questions_pause_the_live_tree_and_a_bang_command_asks_before_running()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        using var term = Start(cli, "--agent", "tester", "--approve", "ask");
        await term.WaitForAsync("default>");
        term.Type("""[[tool:run_terminal_command {"command":"echo hi-there"}]] [[tool:ask_user {"questions":[{"question":"Pick one","options":[{"label":"Alpha"},{"label":"Beta"}]}]}]] [[reply:Done.]]""");
        term.Keys("Enter");
        await term.WaitForAsync("Run echo hi-there in the project? [y/n] (y):");
        term.Keys("y", "Enter");
        await term.WaitForAsync("> Alpha"); // the selection itself ("Pick one" is in the typed prompt too)
        term.Keys("Down");
        await term.WaitForAsync("> Beta", 5);
        term.Keys("Enter");
        var screen = await term.WaitAsync(s => s.Contains("6 credits · session 6 credits") && LastLine(s) == "default>", "the run to complete");
        Assert.Contains("hi-there", screen);
        Assert.Contains("✓ ask_user", screen);
        Assert.Contains("└── Beta", screen);
        Assert.Contains("Done.", screen);

        term.Type("!echo from-$((40+2))");
        term.Keys("Enter");
        await term.WaitForAsync("Run echo from-$((40+2)) in the project? [y/n] (y):");
        term.Keys("y", "Enter");
        screen = await term.WaitAsync(s => s.Contains("from-42") && LastLine(s) == "default>", "the command's output");
        Assert.Contains("$ echo from-$((40+2)) · exit 0", screen);
    }

    /// <summary>At a terminal, undo lists what it will do and asks; "n" changes nothing, "y" restores.</summary>
    [TmuxFact]
    public async Task Undo_lists_the_files_and_asks_before_restoring()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        cli.Write("keep.txt", "before\n");
        Assert.Equal(0, (await cli.RunAsync(["-p", "--agent", "tester",
            """[[tool:write_file {"path":"keep.txt","content":"after\n"}]] [[tool:write_file {"path":"made.txt","content":"new"}]]"""])).ExitCode);

        using (var declined = Start(cli, "undo"))
        {
            var screen = await declined.WaitForAsync("Restore 2 files? [y/n] (n):");
            Assert.Contains("  restore keep.txt", screen);
            Assert.Contains("  delete made.txt", screen);
            declined.Keys("n", "Enter");
            await declined.WaitForAsync("Nothing was restored.");
        }
        Assert.Equal("after\n", cli.File("keep.txt"));

        using var term = Start(cli, "undo");
        await term.WaitForAsync("Restore 2 files? [y/n] (n):");
        term.Keys("y", "Enter");
        await term.WaitForAsync("Restored 2 files: keep.txt, made.txt");
        Assert.Equal("before\n", cli.File("keep.txt"));
        Assert.False(File.Exists(Path.Combine(cli.Project, "made.txt")));
    }

    /// <summary>In a terminal narrower than the login link, the link is one line the terminal wraps (copyable, clickable),
    /// not lines broken by the CLI.</summary>
    [TmuxFact]
    public async Task The_login_link_is_printed_unbroken_on_its_own_line_in_a_narrow_terminal()
    {
        using var cli = new CodebuffCli(server.BaseAddress.ToString());
        using var term = new Tmux(cli.Project, new Dictionary<string, string?>(cli.Env)
        {
            ["HOME"] = cli.Home, ["TERM"] = "xterm-256color", ["COLUMNS"] = null, ["SSH_CONNECTION"] = "10.0.0.1 50000 10.0.0.2 22",
        }, [Binary, "login"], width: 50);
        // capture-pane -J joins the lines the terminal wrapped, never the ones the program broke.
        var screen = await term.WaitForAsync("Waiting for the browser");
        var link = screen.Split('\n').Select(l => l.TrimEnd()).SingleOrDefault(l => l.Contains("auth_code="));
        Assert.True(link is not null, screen);
        Assert.Matches(@"^https?://\S+/login\?auth_code=codebuff-cli-[0-9a-z]{20}\.\d+\.[0-9a-f]{16,}$", link);
        Assert.True(link.Length > 50);
    }

    static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    /// <summary>Whether a <c>sleep &lt;seconds&gt;</c> process (a duration unique to one test) is alive.</summary>
    static bool SleepRunning(string seconds) =>
        Directory.EnumerateDirectories("/proc").Any(d =>
        {
            try { return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ').Trim() == $"sleep {seconds}"; }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });
}
