using Codebuff.Cli.Tests.Infrastructure;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Agents;

/// <summary>
/// <c>codebuff init</c> (clients.md §2.6) writes a TypeScript .agents/ in upstream's forms that loads and runs as
/// written, and reports the files that already exist; spawnable agents resolve locally first, then on the server, and
/// one that exists nowhere fails when spawned, not when the folder loads.
/// </summary>
public sealed class InitTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Init_writes_agents_that_load_and_run_and_reports_what_exists()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        cli.Write("knowledge.md", "# Mine\n");

        var init = await cli.RunAsync(["init"]);
        Assert.True(init.ExitCode == 0, init.Error);
        foreach (var file in new[] { ".agents/types/agent-definition.ts", ".agents/types/tools.ts", ".agents/my-custom-agent.ts",
                     ".agents/examples/01-diff-reviewer.ts", ".agents/examples/02-git-committer.ts", ".agents/examples/03-file-explorer.ts" })
        {
            Assert.Contains($"Created {file}", init.Console);
            Assert.True(File.Exists(Path.Combine(cli.Project, file)), file);
        }
        Assert.Contains("Already exists, left as it is: knowledge.md", init.Console);
        Assert.Equal("# Mine\n", cli.File("knowledge.md"));

        var again = await cli.RunAsync(["init"]);
        Assert.DoesNotContain("Created", again.Console);
        Assert.Contains("Already exists, left as it is: .agents/my-custom-agent.ts", again.Console);
        Assert.Contains("Already exists, left as it is: .agents/examples/02-git-committer.ts", again.Console);

        // The git committer (handleSteps: two commands, words in the model's mouth, STEP, STEP_ALL) runs as written.
        var committer = await cli.RunAsync(["-p", "--yes", "--agent", "git-committer", "the init files"]);
        Assert.True(committer.ExitCode == 0, committer.Error);
        Assert.Equal("", committer.Error.Trim());
        var request = server.Llm.Requests().Last(r => r.ToJsonString().Contains("git commit messages"));
        var contents = string.Join('\n', request["messages"]!.AsArray().Select(m => (string?)m!["content"]));
        Assert.Contains("Tool: run_terminal_command", contents);
        Assert.Contains("git log --oneline -10", contents);
        Assert.Contains("Now I'll stage and commit the changes (the init files).", contents);

        // The explorer spawns codebuff/file-picker@0.0.1: published on the server (a built-in agent), it runs from there ...
        var published = await cli.RunAsync(["-p", "--json", "--agent", "file-explorer", "where is the loader"]);
        Assert.True(published.ExitCode == 0, published.Error);
        Assert.Contains("\"agentName\":\"Fletcher the File Fetcher\",\"agentType\":\"file-picker\",\"status\":\"completed\"", published.Out);
        // ... and once a local file-picker exists, it is the one spawned.
        cli.Write(".agents/file-picker.json", """{ "id": "file-picker", "displayName": "Local Picker", "model": "test/fake-model", "toolNames": ["end_turn"] }""");
        var local = await cli.RunAsync(["-p", "--json", "--agent", "file-explorer", "where is the loader"]);
        Assert.True(local.ExitCode == 0, local.Error);
        Assert.Contains("\"agentName\":\"Local Picker\",\"agentType\":\"file-picker\",\"status\":\"completed\"", local.Out);

        // An agent that exists nowhere: the folder loads, and spawning it is what fails.
        cli.Write(".agents/lost.ts", """
            export default {
              id: 'lost', displayName: 'Lost', model: 'test/fake-model', spawnableAgents: ['someone/nowhere@1.0.0'],
              handleSteps: function* () {
                const { toolResult } = yield { toolName: 'spawn_agents', input: { agents: [{ agent_type: 'someone/nowhere@1.0.0' }] } }
                yield { toolName: 'set_output', input: { message: toolResult[0].value[0].errorMessage } }
              },
            }
            """);
        var lost = await cli.RunAsync(["-p", "--agent", "lost", "go"]);
        Assert.True(lost.ExitCode == 0, lost.Error);
        Assert.Equal("", lost.Error.Trim());
        Assert.StartsWith("No agent \"someone/nowhere@1.0.0\": it is not defined in .agents/ and someone/nowhere@1.0.0 is not published on", lost.Out.Trim());

        await using var db = server.NewDbContext();
        var runs = await db.AgentRuns.Where(r => r.UserId == user.Id).ToListAsync();
        Assert.Equal(AgentRunStatus.Completed, runs.Single(r => r.AgentId == "git-committer").Status);
        Assert.Equal(2, runs.Count(r => r.AgentId == "file-explorer" && r.Status == AgentRunStatus.Completed));
        Assert.Equal(2, runs.Count(r => r.AgentId.Contains("file-picker") && r.Status == AgentRunStatus.Completed)); // one published, one local
    }
}
