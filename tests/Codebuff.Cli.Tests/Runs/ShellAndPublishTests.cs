using Codebuff.Cli.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Runs;

/// <summary>Interactive mode's <c>!cmd</c>, bash mode and <c>/publish</c> (clients.md §2.5, §2.6), against the real server.</summary>
public sealed class ShellAndPublishTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task A_bang_command_runs_in_the_project_shows_its_output_and_goes_with_the_next_prompt()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var nonce = Guid.NewGuid().ToString("N")[..12];
        var console = new TestConsole().Width(200);
        var input = string.Join('\n', $"!echo shell-{nonce} > made.txt && cat made.txt && pwd", $"question-{nonce} [[reply:Seen it.]]", "/exit", "");
        var result = await cli.RunAsync(["--yes", "--agent", "tester"], input, console: console);

        Assert.True(result.ExitCode == 0, result.Error + console.Output);
        Assert.Equal($"shell-{nonce}\n", cli.File("made.txt"));
        Assert.Contains($"$ echo shell-{nonce} > made.txt && cat made.txt && pwd · exit 0", console.Output);
        Assert.Contains($"shell-{nonce}", console.Output);
        Assert.Contains(cli.Project, console.Output); // pwd: it ran in the project
        Assert.Contains("Seen it.", console.Output);

        // The command and its output were sent ahead of the prompt that followed, once.
        var requests = server.Llm.Requests().Where(r => r["messages"]!.ToJsonString().Contains($"question-{nonce}")).ToList();
        var content = requests[0]["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!;
        var user = content is JsonValue v ? v.GetValue<string>() : string.Join('\n', content.AsArray().Select(p => (string?)p!["text"]));
        Assert.Contains($"I ran `echo shell-{nonce} > made.txt && cat made.txt && pwd` in the project (exit code 0)", user);
        Assert.Contains($"shell-{nonce}\n{cli.Project}", user);
        Assert.Equal(1, requests.Count(r => r["messages"]!.ToJsonString().Contains("I ran")));
    }

    [Fact]
    public async Task Without_yes_a_bang_command_is_not_run_when_nobody_can_approve_it()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var console = new TestConsole().Width(200);
        var result = await cli.RunAsync(["--agent", "tester", "--approve", "ask"], string.Join('\n', "!touch should-not-exist.txt", "/exit", ""), console: console);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Not run: commands need approval and nobody is at the keyboard; run codebuff with --yes (--approve auto) to run them without asking.", console.Output);
        Assert.False(File.Exists(Path.Combine(cli.Project, "should-not-exist.txt")));
    }

    [Fact]
    public async Task A_bang_command_runs_in_the_sandbox_like_the_models_commands()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var outside = Directory.CreateDirectory($"/var/tmp/cb-outside-{Guid.NewGuid():N}").FullName;
        var console = new TestConsole().Width(300);
        try
        {
            var result = await cli.RunAsync(["--agent", "tester"], string.Join('\n', $"!touch inside.txt && touch {outside}/bang.txt", "/exit", ""), console: console);

            Assert.Equal(0, result.ExitCode);
            Assert.True(File.Exists(Path.Combine(cli.Project, "inside.txt")));
            Assert.False(File.Exists(Path.Combine(outside, "bang.txt")));
            Assert.Contains("Read-only file system", console.Output);
            Assert.Contains("[sandbox workspace-write]", console.Output);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Bash_mode_runs_each_line_until_exit_and_a_failing_command_shows_its_exit_code()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var console = new TestConsole().Width(200);
        var input = string.Join('\n', "!", "echo first-line", "ls -d /definitely/missing", "exit", "/bash echo via-slash", "/help", "/exit", "");
        var result = await cli.RunAsync(["--yes", "--agent", "tester"], input, console: console);

        Assert.True(result.ExitCode == 0, result.Error);
        var output = console.Output;
        Assert.Contains("Bash mode: each line runs in the project.", output);
        Assert.Contains("$ echo first-line · exit 0", output);
        Assert.Contains("$ ls -d /definitely/missing · exit 2", output);
        Assert.Contains("No such file or directory", output);
        Assert.Contains("Left bash mode.", output);
        Assert.Contains("$ echo via-slash · exit 0", output);
        Assert.Contains("/help", input);
        Assert.Contains("!cmd             run a shell command in the project", output); // /help ran as a command again, not in bash mode
    }

    [Fact]
    public async Task Slash_publish_publishes_from_agents_and_explains_an_unknown_id_in_a_sentence()
    {
        var (user, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var publisher = "pub-" + Guid.NewGuid().ToString("N")[..8];
        var created = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = publisher, name = "Repl Publisher" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        cli.Write(".agents/greeter.json", $$"""
            { "id": "greeter", "publisher": "{{publisher}}", "displayName": "Greeter", "model": "openai/gpt-4o-mini", "toolNames": ["end_turn"] }
            """);
        var console = new TestConsole().Width(200);
        var result = await cli.RunAsync(["--agent", "tester"], string.Join('\n', "/publish greeter", "/publish nobody", "/exit", ""), console: console);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains($"Published Greeter ({publisher}/greeter@0.0.1)", console.Output);
        Assert.Contains("No agent \"nobody\" in .agents/ (by id or display name).", console.Output);
        Assert.DoesNotContain("   at ", console.Output); // a sentence, not a stack trace
        await using var db = server.NewDbContext();
        Assert.True(await db.AgentConfigs.AnyAsync(a => a.PublisherId == publisher && a.Id == "greeter" && a.Version == "0.0.1"));
    }
}
