using Codebuff.Cli.Runs;
using Codebuff.Cli.Tools;
using Codebuff.Cli.Ui;
using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Ui;

/// <summary>The message tree as Spectre renders it, through TestConsole.</summary>
public sealed class TreeViewTests
{
    static string Render(IEnumerable<RunEvent> events, decimal? session = null)
    {
        var tree = new MessageTree();
        foreach (var e in events) tree.Apply(e);
        var console = new TestConsole().Width(200);
        console.Write(TreeView.Render(tree, session));
        return console.Output;
    }

    [Fact]
    public void Text_reasoning_tools_diffs_terminal_output_and_nested_agents_with_their_credits()
    {
        var diff = UnifiedDiff.Create("src/a.txt", "keep\nold line\n", "keep\nnew line\n");
        var output = Render(
        [
            new AgentStarted("root", null, "run-1", "tester", "Tester", "do it", null),
            new ReasoningDelta("root", "Let me think about this carefully."),
            new TextDelta("root", "I will edit "), new TextDelta("root", "the file."),
            new ToolCalled("root", "c1", "str_replace", JsonNode.Parse("""{"path":"src/a.txt"}""")),
            new ToolFinished("root", "c1", "str_replace", new JsonObject { ["file"] = "src/a.txt", ["unifiedDiff"] = diff }),
            new ToolCalled("root", "c2", "run_terminal_command", JsonNode.Parse("""{"command":"dotnet test"}""")),
            new ToolFinished("root", "c2", "run_terminal_command", JsonNode.Parse("""{"stdout":"Passed! 3 tests","exitCode":0}""")),
            new ToolCalled("root", "c3", "spawn_agents", JsonNode.Parse("{}")),
            new AgentStarted("kid", "root", "run-2", "helper", "Helpful Helper", "help", "c3-0"),
            new TextDelta("kid", "Hello parent."),
            new AgentFinished("kid", "root", "run-2", "completed", 1, 2, 2, null),
            new AgentStarted("picker", "root", "run-3", "file-picker", "Fletcher", "find", "c3-1"),
            new ToolCalled("picker", "p1", "glob", JsonNode.Parse("""{"pattern":"**/*.secretive"}""")),
            new AgentFinished("picker", "root", "run-3", "completed", 1, 1, 1, null),
            new ToolCalled("root", "c4", "read_files", JsonNode.Parse("""{"paths":[".env"]}""")),
            new ToolFinished("root", "c4", "read_files", JsonNode.Parse("""[{"path":".env","content":"[BLOCKED]"}]""")),
            new ToolCalled("root", "c5", "write_file", JsonNode.Parse("""{"path":"../x"}""")),
            new ToolFinished("root", "c5", "write_file", JsonNode.Parse("""{"errorMessage":"[FILE_OUTSIDE_PROJECT] Only files inside the project can be written."}""")),
            new AgentFinished("root", null, "run-1", "completed", 3, 4, 7, null),
            new RunCompleted("root", "run-1", "completed", "I will edit the file.", 7, null),
        ], session: 12);

        Assert.Contains("Tester (tester) completed · 4 credits own, 7 with sub-agents", output);
        Assert.Contains("thought for 34 characters (collapsed)", output);
        Assert.DoesNotContain("carefully", output);
        Assert.Contains("I will edit the file.", output);
        Assert.Contains("✓ str_replace src/a.txt", output);
        Assert.Contains("-old line", output);
        Assert.Contains("+new line", output);
        Assert.Contains("✓ run_terminal_command dotnet test", output);
        Assert.Contains("exit 0", output);
        Assert.Contains("Passed! 3 tests", output);
        Assert.DoesNotContain("spawn_agents", output);
        Assert.Contains("Helpful Helper (helper) completed · 2 credits", output);
        Assert.Contains("Hello parent.", output);
        // Helpers such as file-picker show as one line.
        Assert.Contains("Fletcher (file-picker) completed · 1 credits", output);
        Assert.DoesNotContain("secretive", output);
        Assert.Contains("[FILE_OUTSIDE_PROJECT] Only files inside the project can be written.", output);
        Assert.Contains("7 credits · session 12 credits", output);
        // Nesting: the sub-agent's text is indented below its block.
        var lines = output.Split('\n');
        var helper = Array.FindIndex(lines, l => l.Contains("Helpful Helper"));
        Assert.True(lines[helper + 1].IndexOf("Hello parent.", StringComparison.Ordinal) > lines[helper].IndexOf("Helpful", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_in_progress_shows_pending_tools_and_a_stopped_run_says_why()
    {
        var running = Render(
        [
            new AgentStarted("root", null, "run-1", "tester", "Tester", null, null),
            new ToolCalled("root", "c1", "code_search", JsonNode.Parse("""{"pattern":"TODO"}""")),
        ]);
        Assert.Contains("Tester (tester) running", running);
        Assert.Contains("… code_search TODO", running);

        var stopped = Render(
        [
            new AgentStarted("root", null, "run-1", "tester", "Tester", null, null),
            new AgentFinished("root", null, "run-1", "cancelled", 2, 4, 4, "Stopped: the run used 4 credits, reaching the --max-credits limit of 3."),
            new RunCompleted("root", "run-1", "cancelled", null, 4, "Stopped: the run used 4 credits, reaching the --max-credits limit of 3."),
        ]);
        Assert.Contains("cancelled · 4 credits", stopped);
        Assert.Contains("reaching the --max-credits limit of 3. · 4 credits", stopped);
    }

    [Fact]
    public void A_tool_still_running_when_its_agent_is_cancelled_shows_as_stopped()
    {
        var output = Render(
        [
            new AgentStarted("root", null, "run-1", "tester", "Tester", "do it", null),
            new ToolCalled("root", "c1", "run_terminal_command", JsonNode.Parse("""{"command":"sleep 20"}""")),
            new AgentFinished("root", null, "run-1", "cancelled", 2, 2, 1, "Cancelled by the user"),
        ]);
        Assert.Contains("✗ run_terminal_command sleep 20 (stopped)", output);
        Assert.DoesNotContain("…", output);
    }
}
