using Codebuff.Cli.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Runs;

/// <summary><c>codebuff undo</c> restores what a run wrote, using the recorded before/after hashes.</summary>
public sealed class UndoTests(CliFixture server) : IClassFixture<CliFixture>
{
    const string EditPrompt = """[[tool:str_replace {"path":"keep.txt","replacements":[{"old":"one","new":"two"}]}]] [[tool:write_file {"path":"new/made.txt","content":"made"}]] [[tool:str_replace {"path":"keep.txt","replacements":[{"old":"two","new":"three"}]}]]""";

    [Fact]
    public async Task Undo_restores_edited_files_and_removes_created_ones()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write("keep.txt", "line one\n");
        Assert.Equal(0, (await cli.RunAsync(["-p", "--agent", "tester", EditPrompt])).ExitCode);
        Assert.Equal("line three\n", cli.File("keep.txt"));

        var undo = await cli.RunAsync(["undo"]);
        Assert.True(undo.ExitCode == 0, undo.Error);
        Assert.Contains("Restored 2 files", undo.Console);
        Assert.Equal("line one\n", cli.File("keep.txt"));
        Assert.False(File.Exists(Path.Combine(cli.Project, "new/made.txt")));

        var nothing = await cli.RunAsync(["undo"]);
        Assert.Equal((1, "There is no run with file changes to undo in this project."), (nothing.ExitCode, nothing.Error.Trim()));
    }

    [Fact]
    public async Task Undo_refuses_when_a_file_changed_since_the_run_and_changes_nothing()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write("keep.txt", "line one\n");
        var run = await cli.RunAsync(["-p", "--json", "--agent", "tester", EditPrompt]);
        var runId = (string)JsonNode.Parse(run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!["runId"]!;
        cli.Write("keep.txt", "edited by hand\n");

        var undo = await cli.RunAsync(["undo", runId]);
        Assert.Equal(1, undo.ExitCode);
        Assert.Equal($"Not undoing run {runId}: keep.txt changed since the run wrote it. Nothing was restored.", undo.Error.Trim());
        Assert.Equal("edited by hand\n", cli.File("keep.txt"));
        Assert.Equal("made", cli.File("new/made.txt"));
    }
}
