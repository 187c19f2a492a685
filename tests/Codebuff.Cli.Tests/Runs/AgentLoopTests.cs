using Codebuff.Cli.Tests.Infrastructure;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Runs;

/// <summary>
/// <c>codebuff -p</c> against the real server and fake-llm.mjs in a temporary git repository: the agent loop runs the
/// local tools, spawns a sub-agent, records steps, FINISHes, and the server holds the runs, steps and billed messages.
/// </summary>
public sealed class AgentLoopTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task A_prompt_writes_edits_runs_spawns_and_the_server_holds_runs_steps_and_messages()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        cli.Write(".env", "API_SECRET=SECRET_VALUE_123\n");
        var outside = Path.Combine(Path.GetDirectoryName(cli.Project)!, $"outside-{Guid.NewGuid():N}.txt");
        File.WriteAllText(outside, "OUTSIDE_VALUE_456");
        var nonce = Guid.NewGuid().ToString("N");

        var prompt = $$"""
            Task {{nonce}}. [[spawn:helper]]
            [[tool:spawn_agents {"agents":[{"agent_type":"helper"}]}]]
            [[tool:write_file {"path":"src/hello.txt","instructions":"greet","content":"hello world\n"}]]
            [[tool:str_replace {"path":"src/hello.txt","replacements":[{"old":"world","new":"codebuff"}]}]]
            [[tool:run_terminal_command {"command":"cat src/hello.txt && git status --porcelain"}]]
            [[tool:read_files {"paths":[".env","src/hello.txt","../{{Path.GetFileName(outside)}}"]}]]
            [[reply:All done.]]
            """;
        var result = await cli.RunAsync(["-p", "--yes", "--agent", "tester", prompt]);
        File.Delete(outside);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("All done.", result.Out.Trim());
        Assert.Equal("hello codebuff\n", cli.File("src/hello.txt"));

        var results = ProjectSetup.ToolResults(server.Llm, nonce);
        Assert.Equal(5, results.Count);
        var spawned = JsonNode.Parse(results[0])!.AsArray().Single()!;
        Assert.Equal(("helper", "completed"), ((string?)spawned["agentType"], (string?)spawned["status"]));
        Assert.Equal("Hello from the fake LLM! You are talking to test/fake-model.", (string?)spawned["value"]);
        Assert.Contains("+hello codebuff", (string?)JsonNode.Parse(results[2])!["unifiedDiff"]);
        var terminal = JsonNode.Parse(results[3])!;
        Assert.Equal(0, (int)terminal["exitCode"]!);
        Assert.Contains("hello codebuff", (string?)terminal["stdout"]);
        Assert.Contains("?? src/", (string?)terminal["stdout"]);
        var reads = JsonNode.Parse(results[4])!.AsArray();
        Assert.StartsWith("[BLOCKED]", (string?)reads[0]!["content"]);
        Assert.Equal("hello codebuff\n", (string?)reads[1]!["content"]);
        Assert.StartsWith("[FILE_OUTSIDE_PROJECT]", (string?)reads[2]!["content"]);
        // Neither the secret nor the file outside the project ever reached the provider.
        var sent = string.Join('\n', server.Llm.Requests().Select(r => r.ToJsonString()));
        Assert.DoesNotContain("SECRET_VALUE_123", sent);
        Assert.DoesNotContain("OUTSIDE_VALUE_456", sent);

        await using var db = server.NewDbContext();
        var runs = await db.AgentRuns.Where(r => r.UserId == user.Id).ToListAsync();
        Assert.Equal(2, runs.Count);
        var parent = runs.Single(r => r.AgentId == "tester");
        var child = runs.Single(r => r.AgentId == "helper");
        Assert.Equal((AgentRunStatus.Completed, 6, 12m, 14m), (parent.Status, parent.TotalSteps, parent.DirectCredits, parent.TotalCredits));
        Assert.Equal((AgentRunStatus.Completed, 1, 2m, 2m), (child.Status, child.TotalSteps, child.DirectCredits, child.TotalCredits));
        Assert.Equal([parent.Id], child.AncestorRunIds!);
        Assert.Empty(parent.AncestorRunIds!);

        var steps = await db.AgentSteps.Where(s => s.AgentRunId == parent.Id).OrderBy(s => s.StepNumber).ToListAsync();
        Assert.Equal([1, 2, 3, 4, 5, 6], steps.Select(s => s.StepNumber));
        Assert.Equal([child.Id], steps[0].ChildRunIds!);
        Assert.All(steps.Skip(1), s => Assert.Empty(s.ChildRunIds!));
        Assert.All(steps, s => Assert.Equal(2m, s.Credits));
        var childStep = await db.AgentSteps.SingleAsync(s => s.AgentRunId == child.Id);

        var messages = await db.Messages.Where(m => m.UserId == user.Id).ToListAsync();
        Assert.Equal(7, messages.Count);
        Assert.Equal(steps.Select(s => s.MessageId).Append(childStep.MessageId).Order(), messages.Select(m => (string?)m.Id).Order());
        Assert.All(messages, m => Assert.Equal(2m, m.Credits));
        Assert.Equal(6, messages.Count(m => m.ClientRequestId == parent.Id));
        Assert.Single(messages.Select(m => m.ClientId).Distinct());

        var usage = await server.ClientFor(user).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "cli-usage" });
        Assert.Equal(1000 - 14, (int)(await usage.Content.ReadFromJsonAsync<JsonObject>())!["remainingBalance"]!);
    }

    [Fact]
    public async Task Json_mode_streams_one_event_per_line_with_sub_agent_credits_and_totals()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var result = await cli.RunAsync(["-p", "--json", "--yes", "--agent", "tester",
            """[[spawn:helper]] [[tool:spawn_agents {"agents":[{"agent_type":"helper"}]}]] [[tool:write_file {"path":"a.txt","content":"A"}]] [[reply:Finished.]]"""]);

        Assert.True(result.ExitCode == 0, result.Error);
        var events = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var types = events.Select(e => (string)e["type"]!).ToList();
        // The knowledge files of the prompt (none here) come first, once.
        Assert.Equal(["knowledge", "agent_start"], types[..2]);
        Assert.Empty(events[0]["files"]!.AsArray());
        Assert.Equal("final", types[^1]);
        var starts = events.Where(e => (string?)e["type"] == "agent_start").ToList();
        Assert.Equal(2, starts.Count);
        Assert.Equal((string?)starts[0]["agentId"], (string?)starts[1]["parentAgentId"]);
        Assert.Equal("helper", (string?)starts[1]["agentType"]);
        var childFinish = events.Single(e => (string?)e["type"] == "agent_finish" && e["parentAgentId"] is not null);
        Assert.Equal(("completed", 2m), ((string?)childFinish["status"], (decimal)childFinish["totalCredits"]!));
        var write = events.Single(e => (string?)e["type"] == "tool_call" && (string?)e["toolName"] == "write_file");
        Assert.Equal("a.txt", (string?)write["input"]!["path"]);
        var written = events.Single(e => (string?)e["type"] == "tool_result" && (string?)e["toolCallId"] == (string?)write["toolCallId"]);
        Assert.Equal("Created the file.", (string?)written["output"]!["message"]);
        Assert.Contains(events, e => (string?)e["type"] == "text" && ((string?)e["text"])!.Contains("Finished"));
        var final = events[^1];
        Assert.Equal(("completed", "Finished.", 8m), ((string?)final["status"], (string?)final["output"], (decimal)final["totalCredits"]!));
    }

    [Fact]
    public async Task Out_of_credits_is_a_sentence_with_the_balance_and_the_run_is_finished_as_failed()
    {
        var (user, cli) = await server.NewProjectAsync(null);
        using var _ = cli;
        var result = await cli.RunAsync(["-p", "--agent", "tester", "[[reply:never]]"]);

        Assert.Equal(4, result.ExitCode);
        Assert.StartsWith("You are out of credits.", result.Error);
        Assert.Contains("/usage", result.Error);
        Assert.Contains("Your balance is 0 credits", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.SingleAsync(r => r.UserId == user.Id);
        Assert.Equal((AgentRunStatus.Failed, 0), (run.Status, await db.Messages.CountAsync(m => m.UserId == user.Id)));
    }

    [Fact]
    public async Task Max_credits_stops_the_run_before_the_tool_calls_of_the_call_that_reached_it()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var result = await cli.RunAsync(["-p", "--max-credits", "3", "--agent", "tester",
            """[[tool:write_file {"path":"1.txt","content":"1"}]] [[tool:write_file {"path":"2.txt","content":"2"}]] [[tool:write_file {"path":"3.txt","content":"3"}]]"""]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("Stopped: the run used 4 credits, reaching the --max-credits limit of 3; no tool call was run after that.", result.Error.Trim());
        Assert.True(File.Exists(Path.Combine(cli.Project, "1.txt")));
        // The call that crossed the limit was paid for, but its tool call did not act.
        Assert.False(File.Exists(Path.Combine(cli.Project, "2.txt")));
        Assert.False(File.Exists(Path.Combine(cli.Project, "3.txt")));
        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.SingleAsync(r => r.UserId == user.Id);
        Assert.Equal((AgentRunStatus.Cancelled, 2, 4m), (run.Status, run.TotalSteps, run.TotalCredits));
        Assert.Contains("--max-credits", run.ErrorMessage);
    }

    [Fact]
    public async Task Cancelling_finishes_the_run_as_cancelled()
    {
        var (user, cli) = await server.NewProjectAsync(1000, model: "test/slow-model");
        using var _ = cli;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var result = await cli.RunAsync(["-p", "--agent", "tester", "[[reply:too late]]"], ct: cancel.Token);

        Assert.Equal(130, result.ExitCode);
        Assert.Contains("Cancelled", result.Error);
        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.SingleAsync(r => r.UserId == user.Id);
        Assert.Equal(AgentRunStatus.Cancelled, run.Status);
        Assert.NotNull(run.CompletedAt);
    }

    [Fact]
    public async Task Terminal_commands_need_approval_when_nobody_can_answer()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        // Asking is the default without a sandbox, and on request with one (Tools/SandboxTests covers the defaults).
        foreach (var flags in new[] { ["--sandbox", "off"], new[] { "--approve", "ask" } })
        {
            var nonce = Guid.NewGuid().ToString("N");
            var result = await cli.RunAsync(["-p", "--agent", "tester", .. flags, $$"""{{nonce}} [[tool:run_terminal_command {"command":"touch ran.txt"}]]"""]);

            Assert.True(result.ExitCode == 0, result.Error);
            Assert.False(File.Exists(Path.Combine(cli.Project, "ran.txt")));
            Assert.Contains("run codebuff with --yes", ProjectSetup.ToolResults(server.Llm, nonce).Single());
        }
    }

    [Fact]
    public async Task Search_and_listing_tools_skip_ignored_and_secret_files()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        cli.Write(".gitignore", "build/\n*.log\n");
        cli.Write("src/App.cs", "class App { /* needle */ }\n");
        cli.Write("src/Lib/Util.cs", "// needle too\n");
        cli.Write("build/out.cs", "// needle in build output\n");
        cli.Write("debug.log", "needle in a log\n");
        cli.Write(".env.local", "needle=secret\n");
        cli.Write(".env.example", "needle=example\n");
        var nonce = Guid.NewGuid().ToString("N");
        var result = await cli.RunAsync(["-p", "--agent", "tester", $$"""
            {{nonce}} [[tool:code_search {"pattern":"needle"}]] [[tool:glob {"pattern":"**/*.cs"}]] [[tool:list_directory {"path":"."}]]
            """]);

        Assert.True(result.ExitCode == 0, result.Error);
        var results = ProjectSetup.ToolResults(server.Llm, nonce);
        var search = (string)JsonNode.Parse(results[0])!["stdout"]!;
        Assert.Contains("src/App.cs:1:", search);
        Assert.Contains("src/Lib/Util.cs:1:", search);
        Assert.Contains(".env.example", search);
        Assert.DoesNotContain("build/", search);
        Assert.DoesNotContain("debug.log", search);
        Assert.DoesNotContain(".env.local", search);
        Assert.Equal("""["src/App.cs","src/Lib/Util.cs"]""", JsonNode.Parse(results[1])!["files"]!.ToJsonString());
        var listing = JsonNode.Parse(results[2])!;
        Assert.Equal("""[".agents","src"]""", listing["directories"]!.ToJsonString());
        Assert.Equal("""[".env.example",".gitignore"]""", listing["files"]!.ToJsonString());
    }

    [Fact]
    public async Task A_published_agent_is_resolved_from_the_server_and_handle_steps_is_refused()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        var published = await cli.RunAsync(["-p", "--agent", "thinker", "[[reply:Deep thought.]]"]);
        Assert.True(published.ExitCode == 0, published.Error);
        Assert.Equal("Deep thought.", published.Out.Trim());
        await using (var db = server.NewDbContext())
            Assert.Matches(@"^codebuff/thinker@\d+\.\d+\.\d+$", (await db.AgentRuns.SingleAsync(r => r.UserId == user.Id)).AgentId);

        ProjectSetup.AddAgents(cli, handleSteps: "function* () { yield 'STEP_ALL' }");
        var refused = await cli.RunAsync(["-p", "--agent", "tester", "hi"]);
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("The agent tester defines handleSteps (programmatic steps in JavaScript), which this CLI does not run.", refused.Error);

        var missing = await cli.RunAsync(["-p", "--agent", "no-such-agent", "hi"]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No agent \"no-such-agent\"", missing.Error);
    }

    [Fact]
    public async Task A_search_the_server_cannot_do_is_a_tool_error_and_cwd_picks_the_project()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var elsewhere = Path.Combine(cli.Project, "sub");
        Directory.CreateDirectory(elsewhere);
        Directory.Move(Path.Combine(cli.Project, ".agents"), Path.Combine(elsewhere, ".agents"));
        var tester = JsonNode.Parse(File.ReadAllText(Path.Combine(elsewhere, ".agents", "tester.json")))!.AsObject();
        tester["toolNames"]!.AsArray().Add("web_search");
        File.WriteAllText(Path.Combine(elsewhere, ".agents", "tester.json"), tester.ToJsonString());
        var nonce = Guid.NewGuid().ToString("N");

        var result = await cli.RunAsync(["-p", "--cwd", "sub", "--agent", "tester",
            $$"""{{nonce}} [[tool:web_search {"query":"dotnet 10"}]] [[tool:write_file {"path":"here.txt","content":"x"}]] [[reply:Searched.]]"""]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("Searched.", result.Out.Trim());
        Assert.Contains("(503)", ProjectSetup.ToolResults(server.Llm, nonce)[0]);
        Assert.True(File.Exists(Path.Combine(elsewhere, "here.txt")));
    }
}
