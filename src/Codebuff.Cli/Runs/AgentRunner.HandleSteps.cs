using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Codebuff.Cli.Agents.Scripts;
using Codebuff.Contracts;

namespace Codebuff.Cli.Runs;

/// <summary>
/// Agents with <c>handleSteps</c> (clients.md §2.10), with upstream's semantics (agent-runtime's run-programmatic-step):
/// the generator runs first; a yielded tool call runs through the same tool code as the model's (sandbox and approvals
/// included), is recorded as a step, and its result comes back as <c>toolResult</c>; <c>'STEP'</c> runs one LLM step,
/// <c>'STEP_ALL'</c> LLM steps until the model ends its turn, <c>{type:'GENERATE_N', n}</c> n completions handed back as
/// <c>nResponses</c>, <c>{type:'STEP_TEXT', text}</c> the text's <c>&lt;codebuff_tool_call&gt;</c> blocks. The run ends when
/// the generator returns or yields <c>end_turn</c>.
/// </summary>
public sealed partial class AgentRunner
{
    // Upstream's MAX_PROGRAMMATIC_TOOL_CALLS: a generator that yields tool calls forever is stopped.
    const int MaxProgrammaticCalls = 10_000;
    // Their results are not repeated to the model as context (upstream's PROGRAMMATIC_CONTEXT_MANAGEMENT_TOOLS).
    static readonly HashSet<string> ContextTools = ["add_message", "set_messages", "set_output", "end_turn"];

    enum Yielded { End, Step, StepAll, GenerateN }

    async Task RunHandleStepsAsync(State me, string source, string? prompt, JsonObject? parameters, JsonArray tools, CancellationToken ct)
    {
        var steps = new StepGenerator(me.Agent.Id, source, new JsonObject
        {
            ["agentState"] = PublicState(me), ["prompt"] = prompt, ["params"] = parameters?.DeepClone(),
        });
        var stepsComplete = false;
        var stepAll = false;
        JsonArray? nResponses = null;
        while (true)
        {
            // STEP_ALL: the generator waits until the model has ended its turn.
            if (!stepAll || stepsComplete)
            {
                stepAll = false;
                var (yielded, n) = await ProgrammaticStepAsync(me, steps, stepsComplete, nResponses, ct);
                nResponses = null;
                if (yielded == Yielded.End) return;
                if (yielded == Yielded.StepAll) stepAll = true;
                if (yielded == Yielded.GenerateN)
                {
                    nResponses = await GenerateAsync(me, n, ct);
                    continue;
                }
            }
            ct.ThrowIfCancellationRequested();
            session.CheckBudget();
            if (me.Steps >= session.Options.MaxAgentSteps)
            {
                session.Emit(new TextDelta(me.AgentId, $"\n(Stopped after {me.Steps} steps, the most one prompt may take.)"));
                return;
            }
            me.EndTurn = false;
            await StepAsync(me, tools, ct);
            stepsComplete = me.EndTurn;
            me.EndTurn = false;
        }
    }

    async Task<(Yielded, int)> ProgrammaticStepAsync(State me, StepGenerator steps, bool stepsComplete, JsonArray? nResponses, CancellationToken ct)
    {
        var toolResult = new JsonArray();
        var context = new List<JsonObject>();
        for (var calls = 0; ; calls++)
        {
            if (calls >= MaxProgrammaticCalls)
                throw new CliException($"Error executing handleSteps for agent {me.Agent.Id}: it yielded {MaxProgrammaticCalls} tool calls without 'STEP', 'STEP_ALL' or ending.");
            ct.ThrowIfCancellationRequested();
            session.CheckBudget();
            var input = new JsonObject { ["agentState"] = PublicState(me), ["toolResult"] = toolResult, ["stepsComplete"] = stepsComplete };
            if (nResponses is not null) input["nResponses"] = nResponses.DeepClone();
            var value = steps.Next(input, out var done);
            if (done) return (Yielded.End, 0);
            switch (value)
            {
                case JsonValue v when v.GetValueKind() == JsonValueKind.String && (string)v! == "STEP":
                    me.History.AddRange(context);
                    return (Yielded.Step, 0);
                case JsonValue v when v.GetValueKind() == JsonValueKind.String && (string)v! == "STEP_ALL":
                    me.History.AddRange(context);
                    return (Yielded.StepAll, 0);
                case JsonObject o when (string?)o["type"] == "GENERATE_N" && o["n"] is JsonValue count && count.TryGetValue<double>(out var n) && n >= 1:
                    me.History.AddRange(context);
                    return (Yielded.GenerateN, (int)Math.Min(n, 10));
                case JsonObject o when (string?)o["type"] == "STEP_TEXT" && (string?)o["text"] is { } text:
                    toolResult = new JsonArray();
                    foreach (var (segmentText, call) in Segments(text))
                    {
                        if (segmentText is not null)
                        {
                            me.History.Add(new JsonObject { ["role"] = "assistant", ["content"] = segmentText });
                            session.Emit(new TextDelta(me.AgentId, segmentText));
                        }
                        else
                        {
                            var (result, ended) = await YieldedCallAsync(me, call!, null, context, ct);
                            foreach (var part in result) toolResult.Add(part?.DeepClone());
                            if (ended) return (Yielded.End, 0);
                        }
                    }
                    break;
                case JsonObject o when (string?)o["toolName"] is { Length: > 0 } name:
                    var yielded = new JsonObject { ["toolName"] = name, ["input"] = (o["input"] as JsonObject)?.DeepClone() ?? new JsonObject() };
                    var (output, end) = await YieldedCallAsync(me, yielded, o["includeToolCall"] is JsonValue inc ? inc.GetValueKind() == JsonValueKind.True : null, context, ct);
                    toolResult = output;
                    if (end) return (Yielded.End, 0);
                    break;
                default:
                    throw new CliException($"Error executing handleSteps for agent {me.Agent.Id}: invalid yield value {value?.ToJsonString() ?? "undefined"}; " +
                                           "yield a tool call { toolName, input }, 'STEP', 'STEP_ALL', { type: 'STEP_TEXT', text } or { type: 'GENERATE_N', n }.");
            }
        }
    }

    /// <summary>One yielded tool call, recorded as its own step; returns its <c>toolResult</c> and whether it ended the turn.</summary>
    async Task<(JsonArray Result, bool EndTurn)> YieldedCallAsync(State me, JsonObject yielded, bool? includeToolCall, List<JsonObject> context, CancellationToken ct)
    {
        var name = (string)yielded["toolName"]!;
        var input = yielded["input"]!.AsObject();
        var call = new ChatToolCall("hs-" + Guid.NewGuid().ToString("N")[..16], name, input.ToJsonString());
        var startTime = DateTime.UtcNow;
        var direct = me.Direct;
        me.Steps++;
        me.StepChildren.Clear();
        if (includeToolCall == true)
            me.History.Add(new JsonObject
            {
                ["role"] = "assistant", ["content"] = null,
                ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = call.Id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = call.Arguments } }),
            });

        JsonNode? output;
        switch (name)
        {
            case "add_message":
                me.History.Add(new JsonObject { ["role"] = (string?)input["role"] ?? "user", ["content"] = input["content"]?.DeepClone() });
                output = new JsonObject();
                break;
            case "set_messages":
                me.History.Clear();
                me.History.AddRange((input["messages"] as JsonArray ?? []).OfType<JsonObject>().Select(m => m.DeepClone().AsObject()));
                output = new JsonObject();
                break;
            default:
                session.Emit(new ToolCalled(me.AgentId, call.Id, name, input.DeepClone()));
                output = session.OverBudget ? NotRun.DeepClone() : await RunToolAsync(me, call, input, ct, fromHandleSteps: true);
                session.Emit(new ToolFinished(me.AgentId, call.Id, name, output?.DeepClone()));
                break;
        }

        if (includeToolCall == true)
            me.History.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = call.Id, ["content"] = output?.ToJsonString() ?? "" });
        else if (includeToolCall is null && !ContextTools.Contains(name))
            context.Add(User($"<programmatic_tool_result>\nTool: {name}\n\nInput JSON:\n{Indented(input)}\n\nOutput:\n{(output is null ? "(no output)" : Indented(output))}\n</programmatic_tool_result>"));

        try
        {
            using var timeout = new CancellationTokenSource(FinishTimeout);
            await session.Api.AddStepAsync(me.RunId, new AgentStepRecord(me.Steps, me.Direct - direct, me.StepChildren.ToArray(), null, "completed", null, startTime), timeout.Token);
        }
        catch (Exception e) when (e is CliException or OperationCanceledException) { }
        session.Emit(new StepRecorded(me.AgentId, me.Steps, me.Direct - direct, null));
        return (new JsonArray(new JsonObject { ["type"] = "json", ["value"] = output?.DeepClone() }), name == "end_turn" || me.EndTurn);
    }

    /// <summary>GENERATE_N: n completions of the conversation so far, without tools, each billed and recorded as a step.</summary>
    async Task<JsonArray> GenerateAsync(State me, int n, CancellationToken ct)
    {
        var texts = new JsonArray();
        for (var i = 0; i < n; i++)
        {
            session.CheckBudget();
            me.Steps++;
            var startTime = DateTime.UtcNow;
            var messages = new JsonArray { new JsonObject { ["role"] = "system", ["content"] = me.SystemPrompt } };
            foreach (var m in me.History) messages.Add(m.DeepClone());
            var reply = await ChatAsync(me, messages, [], ct);
            me.Direct += reply.Credits;
            me.Total += reply.Credits;
            session.AddCredits(reply.Credits);
            me.StepChildren.Clear();
            await RecordStepAsync(me, reply, startTime);
            texts.Add(reply.Text);
        }
        return texts;
    }

    /// <summary>What the generator sees of its agent (upstream's getPublicAgentState); messages are in the chat format this CLI sends.</summary>
    JsonObject PublicState(State me) => new()
    {
        ["agentId"] = me.AgentId, ["runId"] = me.RunId, ["parentId"] = me.ParentAgentId,
        ["messageHistory"] = new JsonArray(me.History.Select(h => (JsonNode)h.DeepClone()).ToArray()),
        ["output"] = me.Output?.DeepClone(), ["systemPrompt"] = me.SystemPrompt,
    };

    static string Indented(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>STEP_TEXT: text and <c>&lt;codebuff_tool_call&gt;{"cb_tool_name": …, …input}&lt;/codebuff_tool_call&gt;</c> blocks, in order.</summary>
    static IEnumerable<(string? Text, JsonObject? Call)> Segments(string text)
    {
        var last = 0;
        foreach (Match m in Regex.Matches(text, @"<codebuff_tool_call>([\s\S]*?)</codebuff_tool_call>"))
        {
            if (text[last..m.Index].Trim() is { Length: > 0 } before) yield return (before, null);
            last = m.Index + m.Length;
            JsonObject? parsed;
            try { parsed = JsonNode.Parse(m.Groups[1].Value.Trim()) as JsonObject; }
            catch (JsonException) { parsed = null; }
            // Like upstream, a block that is not a tool call is skipped.
            if (parsed is null || (string?)parsed["cb_tool_name"] is not { Length: > 0 } name) continue;
            parsed.Remove("cb_tool_name");
            parsed.Remove("cb_easp");
            yield return (null, new JsonObject { ["toolName"] = name, ["input"] = parsed });
        }
        if (text[last..].Trim() is { Length: > 0 } after) yield return (after, null);
    }
}
