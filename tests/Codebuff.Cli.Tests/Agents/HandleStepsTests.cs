using Codebuff.Cli.Tests.Infrastructure;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Agents;

/// <summary>
/// <c>handleSteps</c> (clients.md §2.10) run by the real CLI: yielded tool calls go through the CLI's tools (project
/// sandbox, command approvals) and come back as toolResult; each kind of yield behaves as upstream's; the server
/// records the steps and credits; the generator's limits fail the run; publishing keeps the source and save-agent runs it.
/// </summary>
public sealed class HandleStepsTests(CliFixture server) : IClassFixture<CliFixture>
{
    const string Types = """
        export interface AgentDefinition { id: string; displayName: string; model: string; [key: string]: unknown }
        export type ToolCall = { toolName: string; input: Record<string, unknown>; includeToolCall?: boolean }
        """;

    const string Stepper = """
        import type { AgentDefinition, ToolCall } from './types/agent-definition'
        import { SYSTEM } from './prompts'

        const definition = {
          id: 'stepper',
          displayName: 'Stepper',
          model: 'test/fake-model',
          toolNames: ['end_turn'],
          systemPrompt: SYSTEM,
          handleSteps: function* ({ agentState, prompt, params, logger }) {
            logger.info({ prompt }, 'starting')
            const { toolResult: written } = yield { toolName: 'write_file', input: { path: 'notes/a.txt', content: 'from handleSteps\n' } } satisfies ToolCall
            const { toolResult: read } = yield { toolName: 'read_files', input: { paths: ['notes/a.txt', '.env'] } } satisfies ToolCall
            const { toolResult: ran } = yield { toolName: 'run_terminal_command', input: { command: 'touch ran.txt' } } satisfies ToolCall
            yield { toolName: 'add_message', input: { role: 'user', content: 'Now answer: [[reply:stepped once]]' }, includeToolCall: false } satisfies ToolCall
            const afterStep = yield 'STEP'
            const { toolResult: fromText } = yield {
              type: 'STEP_TEXT',
              text: 'Writing more.\n<codebuff_tool_call>\n{"cb_tool_name": "write_file", "path": "notes/b.txt", "content": "from STEP_TEXT"}\n</codebuff_tool_call>',
            }
            const { nResponses } = yield { type: 'GENERATE_N', n: 2 }
            const afterAll = yield 'STEP_ALL'
            const history = afterAll.agentState.messageHistory
            yield {
              toolName: 'set_output',
              input: {
                message: JSON.stringify({
                  runId: agentState.runId,
                  prompt,
                  written: written[0].value.message,
                  read: read[0].value.map((f: { content: string }) => f.content),
                  ran: ran[0].value.errorMessage,
                  stepAnswer: afterStep.agentState.messageHistory.filter((m: { role: string }) => m.role === 'assistant').pop().content,
                  stepsComplete: [afterStep.stepsComplete, afterAll.stepsComplete],
                  fromText: fromText[0].value.message,
                  nResponses,
                  textSegment: history.some((m: { role: string; content: string }) => m.role === 'assistant' && m.content === 'Writing more.'),
                }),
              },
            } satisfies ToolCall
            yield { toolName: 'end_turn', input: {} } satisfies ToolCall
            yield { toolName: 'write_file', input: { path: 'never.txt', content: 'after end_turn' } } satisfies ToolCall
          },
        } satisfies AgentDefinition

        export default definition
        """;

    [Fact]
    public async Task HandleSteps_runs_tool_calls_through_the_tools_and_every_kind_of_yield_with_steps_and_credits_recorded()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var nonce = Guid.NewGuid().ToString("N");
        cli.Write(".env", "API_SECRET=SECRET_VALUE_789\n");
        cli.Write(".agents/package.json", """{ "name": "codebuff-agents" }""");
        cli.Write(".agents/types/agent-definition.ts", Types);
        cli.Write(".agents/prompts.ts", $"export const SYSTEM = 'You step. {nonce}'\n");
        cli.Write(".agents/stepper.ts", Stepper);

        var result = await cli.RunAsync(["-p", "--approve", "deny", "--agent", "stepper", "Go step"]);

        Assert.True(result.ExitCode == 0, result.Error + result.Out);
        var output = JsonNode.Parse(result.Out.Trim())!;
        Assert.Equal("Go step", (string?)output["prompt"]);
        Assert.Equal("Created the file.", (string?)output["written"]);
        Assert.Equal("from handleSteps\n", (string?)output["read"]![0]);
        Assert.StartsWith("[BLOCKED]", (string?)output["read"]![1]);
        Assert.Equal("Not run: commands are turned off (--approve deny).", (string?)output["ran"]);
        Assert.Equal("stepped once", (string?)output["stepAnswer"]);
        Assert.Equal("[true,true]", output["stepsComplete"]!.ToJsonString());
        Assert.Equal("Created the file.", (string?)output["fromText"]);
        Assert.Equal("""["stepped once","stepped once"]""", output["nResponses"]!.ToJsonString());
        Assert.True((bool)output["textSegment"]!);
        Assert.Equal("from handleSteps\n", cli.File("notes/a.txt"));
        Assert.Equal("from STEP_TEXT", cli.File("notes/b.txt"));
        Assert.False(File.Exists(Path.Combine(cli.Project, "ran.txt")));
        Assert.False(File.Exists(Path.Combine(cli.Project, "never.txt")));

        // The model saw the programmatic results as context (the secret never), and no tools it was not given.
        var requests = server.Llm.Requests().Where(r => r.ToJsonString().Contains(nonce)).ToArray();
        Assert.Equal(4, requests.Length); // STEP, GENERATE_N ×2, STEP_ALL
        var first = string.Join('\n', requests[0]["messages"]!.AsArray().Select(m => (string?)m!["content"]));
        Assert.Contains("<programmatic_tool_result>", first);
        Assert.Contains("Tool: write_file", first);
        Assert.DoesNotContain("SECRET_VALUE_789", string.Join('\n', requests.Select(r => r.ToJsonString())));
        Assert.Equal(["end_turn"], requests[0]["tools"]!.AsArray().Select(t => (string)t!["function"]!["name"]!));
        Assert.Null(requests[1]["tools"]);

        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.SingleAsync(r => r.UserId == user.Id && r.AgentId == "stepper");
        // 7 yielded tool calls (one inside STEP_TEXT, none after end_turn) and 4 LLM calls of 2 credits each.
        Assert.Equal((AgentRunStatus.Completed, 11, 8m, 8m), (run.Status, run.TotalSteps, run.DirectCredits, run.TotalCredits));
        var steps = await db.AgentSteps.Where(s => s.AgentRunId == run.Id).OrderBy(s => s.StepNumber).ToListAsync();
        Assert.Equal(Enumerable.Range(1, 11), steps.Select(s => s.StepNumber));
        Assert.Equal(4, steps.Count(s => s.MessageId is not null));
        Assert.Equal(8m, steps.Sum(s => s.Credits));
        Assert.Equal(4, await db.Messages.CountAsync(m => m.UserId == user.Id));
    }

    [Fact]
    public async Task A_generator_that_does_not_yield_fails_the_run_with_a_clear_message()
    {
        var (user, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write(".agents/looper.js", """
            export default {
              id: 'looper', displayName: 'Looper', model: 'test/fake-model',
              handleSteps: function* () {
                yield { toolName: 'write_file', input: { path: 'before.txt', content: 'x' } }
                let i = 0
                while (true) { i++ }
              },
            }
            """);

        var result = await cli.RunAsync(["-p", "--agent", "looper", "loop"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"Error executing handleSteps for agent looper: it (ran more than 10,000,000 statements|ran for more than 10 seconds|used more than 256 MB of memory) without yielding", result.Error);
        Assert.True(File.Exists(Path.Combine(cli.Project, "before.txt")));
        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.SingleAsync(r => r.UserId == user.Id && r.AgentId == "looper");
        Assert.Equal(AgentRunStatus.Failed, run.Status);
    }

    [Fact]
    public async Task Published_handleSteps_keeps_its_source_and_save_agent_copies_an_agent_that_runs()
    {
        var user = await server.CreateUserAsync();
        var publisher = "pub-" + Guid.NewGuid().ToString("N")[..8];
        var created = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = publisher, name = "Steps Publisher" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        cli.Write(".agents/types/agent-definition.ts", Types);
        cli.Write(".agents/greeter.ts", $$"""
            import type { AgentDefinition } from './types/agent-definition'
            export default {
              id: 'greeter', publisher: '{{publisher}}', displayName: 'Greeter', model: 'test/fake-model', toolNames: ['set_output'],
              handleSteps: function* ({ prompt }: { prompt?: string }) {
                const { toolResult } = yield { toolName: 'write_file', input: { path: 'greeting.txt', content: `hello ${prompt}` } }
                yield { toolName: 'set_output', input: { message: 'wrote: ' + toolResult[0].value.message } }
              },
            } satisfies AgentDefinition
            """);

        var published = await cli.RunAsync(["publish", "greeter"]);
        Assert.True(published.ExitCode == 0, published.Console + published.Error);
        await using (var db = server.NewDbContext())
        {
            var stored = JsonNode.Parse((await db.AgentConfigs.SingleAsync(a => a.PublisherId == publisher && a.Id == "greeter")).Data)!;
            var source = (string)stored["handleSteps"]!;
            Assert.StartsWith("function* ({ prompt }", source);
            Assert.Contains("toolResult[0].value.message", source);
            Assert.DoesNotContain(": { prompt?: string }", source); // types stripped
        }

        using var other = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        var saved = await other.RunAsync(["save-agent", $"{publisher}/greeter"]);
        Assert.True(saved.ExitCode == 0, saved.Error);
        var ran = await other.RunAsync(["-p", "--agent", "greeter", "world"]);
        Assert.True(ran.ExitCode == 0, ran.Error);
        Assert.Equal("wrote: Created the file.", ran.Out.Trim());
        Assert.Equal("hello world", other.File("greeting.txt"));

        // The published one runs too, straight from the server.
        using var third = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        var remote = await third.RunAsync(["-p", "--agent", $"{publisher}/greeter", "store"]);
        Assert.True(remote.ExitCode == 0, remote.Error);
        Assert.Equal("hello store", third.File("greeting.txt"));
    }
}
