using Codebuff.Cli.Tools;
using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Ui;

/// <summary>ask_user and command approval through Spectre prompts (TestConsole keys), and without a terminal.</summary>
public sealed class UserPrompterTests
{
    static readonly JsonObject Questions = JsonNode.Parse("""
        {"questions":[
          {"question":"Which database?","options":[{"label":"PostgreSQL"},{"label":"SQLite"}]},
          {"question":"Which tests?","options":[{"label":"unit"},{"label":"e2e"}],"multiSelect":true},
          {"question":"Anything else?","options":[{"label":"No"}]}
        ]}
        """)!.AsObject();

    [Fact]
    public async Task Answers_come_from_selection_prompts_and_other_text()
    {
        var console = new TestConsole().Interactive();
        console.Input.PushKey(ConsoleKey.DownArrow);
        console.Input.PushKey(ConsoleKey.Enter);                 // SQLite
        console.Input.PushKey(ConsoleKey.Spacebar);
        console.Input.PushKey(ConsoleKey.DownArrow);
        console.Input.PushKey(ConsoleKey.Spacebar);
        console.Input.PushKey(ConsoleKey.Enter);                 // unit + e2e
        console.Input.PushKey(ConsoleKey.DownArrow);
        console.Input.PushKey(ConsoleKey.Enter);                 // Other…
        console.Input.PushTextWithEnter("use migrations");

        var result = await new UserPrompter(console, interactive: true).AskUserAsync(Questions, CancellationToken.None);

        Assert.Equal("""{"answers":[{"questionIndex":0,"selectedOption":"SQLite"},{"questionIndex":1,"selectedOptions":["unit","e2e"]},{"questionIndex":2,"otherText":"use migrations"}]}""",
            result.ToJsonString());
        Assert.Contains("Which database?", console.Output);
    }

    [Fact]
    public async Task Without_a_terminal_questions_are_skipped_and_commands_are_not_approved()
    {
        var prompter = new UserPrompter(new TestConsole(), interactive: false);
        Assert.Equal("""{"answers":[],"skipped":true}""", (await prompter.AskUserAsync(Questions, CancellationToken.None)).ToJsonString());
        Assert.False(await prompter.ConfirmCommandAsync("rm -rf build", "the project", CancellationToken.None));
    }

    [Fact]
    public async Task A_command_runs_only_when_confirmed()
    {
        var console = new TestConsole().Interactive();
        console.Input.PushTextWithEnter("n");
        Assert.False(await new UserPrompter(console, interactive: true).ConfirmCommandAsync("make deploy", "the project", CancellationToken.None));
        Assert.Contains("Run make deploy in the project?", console.Output);
        console.Input.PushTextWithEnter("y");
        Assert.True(await new UserPrompter(console, interactive: true).ConfirmCommandAsync("make test", "src", CancellationToken.None));
    }

    [Fact]
    public async Task A_command_without_a_sandbox_says_so_and_runs_only_on_an_explicit_yes()
    {
        var console = new TestConsole().Interactive();
        console.Input.PushKey(ConsoleKey.Enter);
        Assert.False(await new UserPrompter(console, interactive: true).ConfirmCommandAsync("make deploy", "the project", CancellationToken.None, sandboxed: false));
        Assert.Contains("Run make deploy in the project, without a sandbox? [y/n] (n):", console.Output);
        console.Input.PushTextWithEnter("y");
        Assert.True(await new UserPrompter(console, interactive: true).ConfirmCommandAsync("make deploy", "the project", CancellationToken.None, sandboxed: false));
    }
}
