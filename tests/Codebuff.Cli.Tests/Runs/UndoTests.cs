using System.Diagnostics;
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

        var asked = await cli.RunAsync(["undo"]);
        Assert.Equal(1, asked.ExitCode);
        Assert.Contains("restore keep.txt", asked.Console);
        Assert.Contains("delete new/made.txt", asked.Console);
        Assert.Equal("Nothing was restored: run `codebuff undo --yes` to restore these files without being asked.", asked.Error.Trim());
        Assert.Equal("line three\n", cli.File("keep.txt"));

        var undo = await cli.RunAsync(["undo", "--yes"]);
        Assert.True(undo.ExitCode == 0, undo.Error);
        Assert.Contains("Restored 2 files", undo.Console);
        Assert.Equal("line one\n", cli.File("keep.txt"));
        Assert.False(File.Exists(Path.Combine(cli.Project, "new/made.txt")));

        var nothing = await cli.RunAsync(["undo", "--yes"]);
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

        var undo = await cli.RunAsync(["undo", runId, "--yes"]);
        Assert.Equal(1, undo.ExitCode);
        Assert.Equal($"Not undoing run {runId}: keep.txt changed since the run wrote it. Nothing was restored.", undo.Error.Trim());
        Assert.Equal("edited by hand\n", cli.File("keep.txt"));
        Assert.Equal("made", cli.File("new/made.txt"));
    }

    /// <summary>Two projects with the same folder name (~/a/app and ~/b/app): undo in one never touches the other's files.</summary>
    [Fact]
    public async Task Undo_in_a_second_project_with_the_same_name_touches_nothing_of_the_first()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var first = Path.Combine(cli.Project, "a", "app");
        var second = Path.Combine(cli.Project, "b", "app");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        Directory.Move(Path.Combine(cli.Project, ".agents"), Path.Combine(cli.Home, ".agents"));
        File.WriteAllText(Path.Combine(first, "keep.txt"), "line one\n");
        File.WriteAllText(Path.Combine(second, "keep.txt"), "line one\n");
        Assert.Equal(0, (await cli.RunAsync(["-p", "--cwd", first, "--agent", "tester", EditPrompt])).ExitCode);

        var undo = await cli.RunAsync(["undo", "--yes", "--cwd", second]);
        Assert.Equal((1, "There is no run with file changes to undo in this project."), (undo.ExitCode, undo.Error.Trim()));
        Assert.Equal("line three\n", File.ReadAllText(Path.Combine(first, "keep.txt")));
        Assert.Equal("made", File.ReadAllText(Path.Combine(first, "new", "made.txt")));
        Assert.Equal("line one\n", File.ReadAllText(Path.Combine(second, "keep.txt")));

        // A journal that says it belongs elsewhere (copied, or left from an older CLI) is refused, not followed.
        var journals = Directory.EnumerateFiles(Path.Combine(cli.Home, ".config", "manicode", "projects", "app", "edits"), "*.json", SearchOption.AllDirectories).ToArray();
        var journal = Assert.Single(journals);
        var secondEdits = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(journal)!)!, "copied");
        var runId = Path.GetFileNameWithoutExtension(journal);
        Directory.CreateDirectory(secondEdits);
        File.Copy(journal, Path.Combine(secondEdits, runId + ".json"));
        var plan = Assert.Throws<CliException>(() => Codebuff.Cli.Tools.EditJournal.PlanUndo(secondEdits, second, null));
        Assert.Equal($"Not undoing run {runId}: it changed files of {first}, not of this project ({second}). Nothing was restored.", plan.Message);
        Assert.Equal("made", File.ReadAllText(Path.Combine(first, "new", "made.txt")));

        var back = await cli.RunAsync(["undo", "--yes", "--cwd", first]);
        Assert.True(back.ExitCode == 0, back.Error);
        Assert.Equal("line one\n", File.ReadAllText(Path.Combine(first, "keep.txt")));
        Assert.False(File.Exists(Path.Combine(first, "new", "made.txt")));
    }

    /// <summary>What undo prints to a pipe or file is not wrapped at 80 columns (long paths stay whole).</summary>
    [Fact]
    public async Task Undo_output_to_a_pipe_is_not_wrapped()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var longName = "src/" + string.Concat(Enumerable.Repeat("a-rather-long-folder-name/", 5)) + "file.txt";
        var write = new JsonObject { ["path"] = longName, ["content"] = "x" }.ToJsonString();
        Assert.Equal(0, (await cli.RunAsync(["-p", "--agent", "tester", $"[[tool:write_file {write}]]"])).ExitCode);

        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "codebuff"), ["undo", "--yes"])
        {
            WorkingDirectory = cli.Project, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.Environment["HOME"] = cli.Home;
        psi.Environment.Remove("COLUMNS");
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();

        Assert.True(p.ExitCode == 0, output + await p.StandardError.ReadToEndAsync());
        Assert.Contains($"\n  delete {longName}\n", output);
        Assert.Contains($"Restored 1 file: {longName}\n", output);
        Assert.False(File.Exists(Path.Combine(cli.Project, longName)));
    }
}
