using Codebuff.Cli.Tests.Infrastructure;
using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Runs;

/// <summary>Interactive mode driven line by line (slash commands, a prompt rendered as a live tree) and --continue.</summary>
public sealed class InteractiveTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Slash_commands_and_a_prompt_render_in_the_session()
    {
        var (user, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var console = new TestConsole().Width(200);
        var input = string.Join('\n', "/help", """[[tool:write_todos {"todos":[{"task":"Write tests","completed":true},{"task":"Ship","completed":false}]}]] [[reply:Hi there.]]""",
            "/usage", "/mode:max", "/mode:nope", "/bogus", "/init", "/exit", "");
        var result = await cli.RunAsync(["--agent", "tester"], input, console: console);

        Assert.True(result.ExitCode == 0, result.Error);
        var output = console.Output;
        Assert.Contains("/mode:default|free|max|plan", output);
        Assert.Contains("Tester (tester) completed · 4 credits", output);
        Assert.Contains("☑ Write tests", output);
        Assert.Contains("☐ Ship", output);
        Assert.Contains("Hi there.", output);
        Assert.Contains("Balance", output);
        Assert.Contains("496 credits", output);
        Assert.Contains("4 credits · session 4 credits", output);
        Assert.Contains("Session usage    4 credits", output);
        Assert.Contains("Mode MAX: agent base2-max.", output);
        Assert.Contains("Modes are default, free, max and plan.", output);
        Assert.Contains("Unknown command /bogus", output);
        Assert.Contains("Created knowledge.md", output);
        Assert.True(File.Exists(Path.Combine(cli.Project, "knowledge.md")));
        // /init fills in the .agents/ the project already has (tester.json), as codebuff init does.
        Assert.Contains("Created .agents/examples/02-git-committer.ts", output);
        Assert.True(File.Exists(Path.Combine(cli.Project, ".agents", "types", "agent-definition.ts")));
    }

    [Fact]
    public async Task Continue_sends_the_earlier_conversation_with_the_next_prompt()
    {
        var (user, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        string first = Guid.NewGuid().ToString("N"), second = Guid.NewGuid().ToString("N");
        Assert.Equal("One.", (await cli.RunAsync(["-p", "--agent", "tester", $"{first} [[reply:One.]]"])).Out.Trim());
        var next = await cli.RunAsync(["-p", "--continue", $"{second} [[reply:Two.]]"]);

        Assert.True(next.ExitCode == 0, next.Error);
        var request = server.Llm.Requests().Last(r => r.ToJsonString().Contains(second));
        var messages = request["messages"]!.ToJsonString();
        Assert.Contains(first, messages);
        Assert.Contains("One.", messages);
        Assert.Equal(ProjectSetup.Model, (string?)request["model"]);
    }
}
