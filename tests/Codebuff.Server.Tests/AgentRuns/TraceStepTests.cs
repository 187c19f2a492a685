using Codebuff.Server.AgentRuns;
using Codebuff.Server.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.AgentRuns;

/// <summary>What a trace step keeps of a call (new messages, system prompt, tool calls), its cap, and its retention.</summary>
public sealed class TraceStepTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static CompletionAccumulator Call(JsonObject request)
    {
        var state = new CompletionAccumulator(new ProxyCall(Guid.NewGuid(), "user-1", "run-1", "base", "m", null, false, false, DateTime.UtcNow)) { Request = request };
        state.AppendToolCall(new ToolCallDelta(0, "call_1", "write_file", null));
        state.AppendToolCall(new ToolCallDelta(0, null, null, "{\"path\":\"a.txt\","));
        state.AppendToolCall(new ToolCallDelta(0, null, null, "\"content\":\"" + new string('y', 300) + "\"}"));
        return state;
    }

    static JsonObject Request(string user, string? system = "system rules") => new()
    {
        ["messages"] = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = system },
            new JsonObject { ["role"] = "user", ["content"] = "first prompt" },
            new JsonObject { ["role"] = "assistant", ["content"] = "an earlier answer" },
            new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = user }, new JsonObject { ["type"] = "image_url" }) }),
        ["codebuff_metadata"] = new JsonObject { ["run_id"] = "run-1", ["project_name"] = "folder", ["repo_url"] = "https://github.com/o/r" },
    };

    [Fact]
    public void A_step_keeps_the_messages_after_the_last_answer_the_system_prompt_and_the_tool_calls_and_prefers_repo_url_as_project()
    {
        var step = TraceStep.From(Call(Request("now do this")), DateTime.UtcNow, 10_000);
        Assert.Equal([new TraceMessage("user", "now do this\n[image_url]")], step.Messages);
        Assert.Equal("system rules", step.SystemPrompt);
        var call = Assert.Single(step.ToolCalls);
        Assert.Equal(("call_1", "write_file"), (call.Id, call.Name));
        Assert.Equal("a.txt", (string?)JsonNode.Parse(call.Arguments)!["path"]);
        Assert.Equal(("now do this\n[image_url]", "https://github.com/o/r", false), (step.Prompt, step.Project, step.Truncated));
    }

    [Fact]
    public void A_step_is_capped_new_messages_first_then_tool_arguments_then_the_system_prompt()
    {
        var step = TraceStep.From(Call(Request(new string('u', 150), system: new string('s', 1000))), DateTime.UtcNow, 200);
        Assert.True(step.Truncated);
        Assert.Equal(new string('u', 150) + "\n[image_url]", step.Messages[0].Content); // 162 characters: within the cap
        Assert.Equal(38 + TraceStep.Cut.Length, step.ToolCalls[0].Arguments.Length);    // the rest of the 200
        Assert.EndsWith(TraceStep.Cut, step.ToolCalls[0].Arguments);
        Assert.Equal(TraceStep.Cut, step.SystemPrompt);                                  // nothing left for it
        var total = step.Messages.Sum(m => m.Content.Length) + step.ToolCalls.Sum(c => c.Arguments.Length) + step.SystemPrompt!.Length;
        Assert.True(total <= 200 + 3 * TraceStep.Cut.Length, $"kept {total} characters");
    }

    const string Words = """[{"role":"user","content":"words"}]""";

    [Fact]
    public async Task Steps_older_than_the_retention_period_are_swept_and_newer_ones_stay()
    {
        var user = await server.CreateUserAsync();
        var now = DateTimeOffset.UtcNow;
        Guid old = Guid.NewGuid(), recent = Guid.NewGuid();
        await using var db = server.NewDbContext();
        foreach (var (id, at) in new[] { (old, now.AddDays(-31)), (recent, now.AddDays(-29)) })
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO message (id, finished_at, model, cost, credits, output_tokens, user_id, request, reasoning_text, response)
                VALUES ({"gen-" + id}, {at.UtcDateTime}, 'm', 0, 0, 0, {user.Id}, {Words}::jsonb, 'thinking', '"answer"')
                """);
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO service.trace_step (call_id, message_id, user_id, run_id, created_at, messages, tool_calls, truncated)
                VALUES ({id}, {"gen-" + id}, {user.Id}, 'run', {at}, '[]', '[]', false)
                """);
        }

        Assert.True(await TraceStep.SweepAsync(db, now, new TraceOptions(), CancellationToken.None) >= 1);
        var left = await db.Database.SqlQuery<Guid>($"SELECT call_id AS \"Value\" FROM service.trace_step WHERE user_id = {user.Id}").ToListAsync();
        Assert.Equal([recent], left);
        // The swept step's message keeps its billing facts, not its words; the recent one keeps both.
        var words = await db.Database.SqlQuery<string>(
            $"SELECT id || ':' || coalesce(request::text, '-') || ':' || coalesce(reasoning_text, '-') || ':' || response::text AS \"Value\" FROM message WHERE user_id = {user.Id} ORDER BY finished_at").ToListAsync();
        Assert.Equal([$"gen-{old}:-:-:\"\"", $"gen-{recent}:[{{\"role\": \"user\", \"content\": \"words\"}}]:thinking:\"answer\""], words);

        // A shorter configured period sweeps the other one too.
        await TraceStep.SweepAsync(db, now, new TraceOptions { RetentionDays = 7 }, CancellationToken.None);
        Assert.Empty(await db.Database.SqlQuery<Guid>($"SELECT call_id AS \"Value\" FROM service.trace_step WHERE user_id = {user.Id}").ToListAsync());
    }
}
