using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Cli.Agents;
using Codebuff.Cli.Tools;
using Codebuff.Cli.Tools.Mcp;
using Codebuff.Contracts;

namespace Codebuff.Cli.Runs;

/// <summary>What an agent's run ended with; <c>History</c> is its conversation, kept to continue the chat.</summary>
public sealed record AgentOutcome(string RunId, string Status, string? Output, JsonNode? StructuredOutput, decimal TotalCredits,
    IReadOnlyList<JsonObject> History, string? Error);

/// <summary>
/// The agent loop @codebuff/sdk runs, in C# (api.md §3): START a run, then per step stream a chat completion with the
/// agent's tools, run the tool calls it asks for (sub-agents in parallel, each its own run with ancestorRunIds),
/// record the step, and stop when the model ends its turn; FINISH with completed, failed or cancelled.
/// </summary>
public sealed class AgentRunner(RunSession session)
{
    // Calling only these does not force another step (the SDK's TOOLS_WHICH_WONT_FORCE_NEXT_STEP).
    static readonly HashSet<string> WontForceNextStep = ["think_deeply", "set_output", "set_messages", "add_message", "suggest_followups", "task_completed"];
    static readonly TimeSpan FinishTimeout = TimeSpan.FromSeconds(15);
    static readonly JsonObject NotRun = new() { ["errorMessage"] = "Not run: the run reached its --max-credits limit." };

    sealed class State(AgentDefinition agent, string agentId, string? parentAgentId, IReadOnlyList<string> ancestors)
    {
        public AgentDefinition Agent { get; } = agent;
        public string AgentId { get; } = agentId;
        public string? ParentAgentId { get; } = parentAgentId;
        public IReadOnlyList<string> Ancestors { get; } = ancestors;
        public string RunId { get; set; } = "";
        public List<JsonObject> History { get; } = [];
        public string SystemPrompt { get; set; } = "";
        public int Steps { get; set; }
        public decimal Direct { get; set; }
        public decimal Total { get; set; }
        public JsonNode? Output { get; set; }
        public string LastText { get; set; } = "";
        public List<string> StepChildren { get; } = [];
        public bool EndTurn { get; set; }
        /// <summary>The MCP servers this run uses; started with the run, stopped when it ends.</summary>
        public McpTools Mcp { get; set; } = McpTools.None;
    }

    /// <summary>Runs an agent to the end of its turn. <paramref name="previous"/> continues an earlier conversation.</summary>
    public async Task<AgentOutcome> RunAsync(AgentDefinition agent, string? prompt, JsonObject? parameters, IReadOnlyList<JsonObject> previous,
        IReadOnlyList<string> ancestors, string? parentAgentId, string? spawnToolCallId, string? parentSystemPrompt, CancellationToken ct)
    {
        if (agent.HandleSteps is not null)
            throw new CliException($"The agent {agent.Id} defines handleSteps (programmatic steps in JavaScript), which this CLI does not run. " +
                                   "Use an agent without handleSteps, or run it with the @codebuff/sdk.");
        var me = new State(agent, Guid.NewGuid().ToString("N")[..12], parentAgentId, ancestors);
        me.RunId = await session.Api.StartRunAsync(agent.TemplateId, ancestors, ct);
        if (parentAgentId is null) session.Journal.RunId ??= me.RunId;
        session.Emit(new AgentStarted(me.AgentId, parentAgentId, me.RunId, agent.Id, agent.DisplayName, prompt, spawnToolCallId));

        var knowledge = session.Context.Knowledge;
        me.SystemPrompt = agent.InheritParentSystemPrompt && parentSystemPrompt is not null ? parentSystemPrompt
            : knowledge.Apply(SystemPrompt(agent), appendWhenNoPlaceholder: parentAgentId is null);
        me.History.AddRange(previous);
        if (!string.IsNullOrEmpty(prompt) || parameters is { Count: > 0 })
            me.History.Add(User(prompt + (parameters is { Count: > 0 } ? $"\n\nParams: {parameters.ToJsonString()}" : "")));
        if (agent.InstructionsPrompt.Length > 0) me.History.Add(User(knowledge.Apply(agent.InstructionsPrompt, appendWhenNoPlaceholder: false)));

        try
        {
            var spawnable = await SpawnableAsync(agent, ct);
            var tools = ToolCatalog.For(agent, spawnable, session.Context.Skills);
            me.Mcp = await McpTools.StartAsync(session, agent, me.AgentId, ct);
            foreach (var mcpTool in me.Mcp.Definitions) tools.Add(mcpTool!.DeepClone());
            while (!me.EndTurn)
            {
                ct.ThrowIfCancellationRequested();
                session.CheckBudget();
                if (me.Steps >= session.Options.MaxAgentSteps)
                {
                    session.Emit(new TextDelta(me.AgentId, $"\n(Stopped after {me.Steps} steps, the most one prompt may take.)"));
                    break;
                }
                await StepAsync(me, tools, ct);
            }
            await FinishAsync(me, "completed", null);
            return Outcome(me, "completed", null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await FinishAsync(me, "cancelled", "Cancelled by the user");
            return Outcome(me, "cancelled", "Cancelled by the user.");
        }
        catch (CreditLimitReachedException e)
        {
            await FinishAsync(me, "cancelled", e.Message);
            return Outcome(me, "cancelled", e.Message);
        }
        catch (CliException e)
        {
            await FinishAsync(me, "failed", e.Message);
            // Login, credits and connection problems end the whole prompt; anything else is this agent's failure.
            if (e.ExitCode is 3 or 4 or 5 or 7 || parentAgentId is null) throw;
            return Outcome(me, "failed", e.Message);
        }
        finally
        {
            await me.Mcp.DisposeAsync();
        }
    }

    async Task StepAsync(State me, JsonArray tools, CancellationToken ct)
    {
        me.Steps++;
        var startTime = DateTime.UtcNow;
        var messages = new JsonArray { new JsonObject { ["role"] = "system", ["content"] = me.SystemPrompt } };
        foreach (var m in me.History) messages.Add(m.DeepClone());
        if (me.Agent.StepPrompt.Length > 0) messages.Add(User(session.Context.Knowledge.Apply(me.Agent.StepPrompt, appendWhenNoPlaceholder: false)));

        var reply = await ChatAsync(me, messages, tools, ct);
        me.Direct += reply.Credits;
        me.Total += reply.Credits;
        session.AddCredits(reply.Credits);
        if (reply.Text.Length > 0) me.LastText = reply.Text;

        var assistant = new JsonObject { ["role"] = "assistant", ["content"] = reply.Text.Length > 0 ? reply.Text : null };
        if (reply.ToolCalls.Count > 0)
            assistant["tool_calls"] = new JsonArray(reply.ToolCalls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            }).ToArray());
        me.History.Add(assistant);

        me.StepChildren.Clear();
        foreach (var call in reply.ToolCalls)
        {
            JsonNode? output;
            JsonObject? input = null;
            // Once the run's credits reach --max-credits (this call's charge, or a sub-agent's), no further tool acts;
            // each gets a result so the saved conversation stays one a provider accepts.
            if (session.OverBudget)
            {
                me.History.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = call.Id, ["content"] = NotRun.ToJsonString() });
                continue;
            }
            try
            {
                input = JsonNode.Parse(call.Arguments.Length == 0 ? "{}" : call.Arguments) as JsonObject ?? throw new JsonException("not an object");
                session.Emit(new ToolCalled(me.AgentId, call.Id, call.Name, input.DeepClone()));
                output = await RunToolAsync(me, call, input, ct);
            }
            catch (JsonException)
            {
                session.Emit(new ToolCalled(me.AgentId, call.Id, call.Name, JsonValue.Create(call.Arguments)));
                output = new JsonObject { ["errorMessage"] = $"The arguments of {call.Name} are not a JSON object." };
            }
            session.Emit(new ToolFinished(me.AgentId, call.Id, call.Name, output?.DeepClone()));
            me.History.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = call.Id, ["content"] = output?.ToJsonString() ?? "" });
        }

        await RecordStepAsync(me, reply, startTime);
        session.CheckBudget();
        var forcing = reply.ToolCalls.Any(c => !WontForceNextStep.Contains(c.Name) && c.Name is not ("end_turn" or "task_completed"));
        // A reply that is only a <think> block is not an answer: the model gets another step.
        var thinkOnly = !forcing && reply.Text.Trim().StartsWith("<think>", StringComparison.Ordinal) && reply.Text.Trim().EndsWith("</think>", StringComparison.Ordinal);
        if (me.EndTurn || (!forcing && !thinkOnly)) me.EndTurn = true;
    }

    async Task<ChatReply> ChatAsync(State me, JsonArray messages, JsonArray tools, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["model"] = me.Agent.Model,
            ["messages"] = messages,
            ["stream"] = true,
            ["max_tokens"] = 32000,
            ["provider"] = me.Agent.ProviderOptions?.DeepClone() ?? new JsonObject { ["allow_fallbacks"] = true },
            ["codebuff_metadata"] = new JsonObject
            {
                ["run_id"] = me.RunId, ["client_id"] = session.ClientId, ["cost_mode"] = session.Options.CostMode,
                // Names the run's project on the dashboard's /runs (the folder's name, not its path).
                ["project_name"] = Path.GetFileName(Path.TrimEndingDirectorySeparator(session.Options.ProjectRoot)),
            },
        };
        if (tools.Count > 0) body["tools"] = tools.DeepClone();
        if (me.Agent.ReasoningOptions is { } reasoning) body["reasoning"] = reasoning.DeepClone();
        using var response = await session.Api.StreamChatAsync(body, session.ByokKey, ct);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        return await ChatStream.ReadAsync(stream, t => session.Emit(new TextDelta(me.AgentId, t)), t => session.Emit(new ReasoningDelta(me.AgentId, t)), ct);
    }

    async Task<JsonNode?> RunToolAsync(State me, ChatToolCall call, JsonObject input, CancellationToken ct)
    {
        if (me.Mcp.Offers(call.Name)) return await me.Mcp.CallAsync(call.Name, input, ct);
        if (!me.Agent.ToolNames.Contains(call.Name))
            return new JsonObject { ["errorMessage"] = $"The tool {call.Name} is not available to this agent." };
        try
        {
            return call.Name switch
            {
                "read_files" => LocalTools.ReadFiles(session, input),
                "write_file" => LocalTools.WriteFile(session, input),
                "str_replace" => LocalTools.StrReplace(session, input),
                "apply_patch" => ApplyPatch.Run(session, input),
                "skill" => Skills.Run(session.Context.Skills, input),
                "run_terminal_command" => await LocalTools.RunTerminalCommandAsync(session, input, ct),
                "code_search" => await LocalTools.CodeSearchAsync(session, input, ct),
                "list_directory" => LocalTools.ListDirectory(session, input),
                "glob" => LocalTools.Glob(session, input),
                "find_files" => await FindFilesAsync(me, input, ct),
                "think_deeply" => new JsonObject(),
                "write_todos" => new JsonObject { ["message"] = "Todos updated." },
                "suggest_followups" => new JsonObject { ["message"] = "Follow-ups shown to the user." },
                "ask_user" => await session.Prompter.AskUserAsync(input, ct),
                "set_output" => SetOutput(me, input),
                "end_turn" or "task_completed" => EndTurn(me),
                "spawn_agents" => await SpawnAgentsAsync(me, call.Id, input, ct),
                "web_search" => await SearchAsync("api/v1/web-search", new { query = (string?)input["query"] ?? "", depth = (string?)input["depth"] ?? "standard" }, "result", ct),
                "read_docs" => await SearchAsync("api/v1/docs-search",
                    new { libraryTitle = (string?)input["libraryTitle"] ?? "", topic = (string?)input["topic"], maxTokens = (int?)(double?)input["max_tokens"] }, "documentation", ct),
                _ => new JsonObject { ["errorMessage"] = $"The tool {call.Name} is not supported by this CLI." },
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            return new JsonObject { ["errorMessage"] = e.Message };
        }
    }

    static JsonNode SetOutput(State me, JsonObject input)
    {
        me.Output = input.DeepClone();
        return new JsonObject { ["message"] = "Output set." };
    }

    static JsonNode EndTurn(State me)
    {
        me.EndTurn = true;
        return new JsonObject();
    }

    async Task<JsonNode> SearchAsync(string path, object body, string field, CancellationToken ct)
    {
        JsonObject answer;
        try
        {
            answer = await session.Api.SearchAsync(path, body, ct);
        }
        catch (CliException e) when (e.ExitCode is not (3 or 7))
        {
            // A search the server cannot do (not configured, no credits for it) is this tool's failure, not the run's.
            return new JsonObject { ["errorMessage"] = e.Message };
        }
        return answer[field] is { } found ? new JsonObject { [field] = found.DeepClone() } : new JsonObject { ["errorMessage"] = (string?)answer["error"] ?? "Nothing found." };
    }

    /// <summary>spawn_agents: every requested sub-agent runs at once, each as its own run under this one.</summary>
    async Task<JsonNode> SpawnAgentsAsync(State me, string toolCallId, JsonObject input, CancellationToken ct)
    {
        var requests = (input["agents"] as JsonArray)?.OfType<JsonObject>().ToArray() ?? [];
        var ancestors = me.Ancestors.Append(me.RunId).ToArray();
        var inherited = me.Agent.SpawnableAgents;
        var results = await Task.WhenAll(requests.Select(async (r, i) =>
        {
            var type = (string?)r["agent_type"] ?? "";
            var allowed = inherited.FirstOrDefault(s => s == type || AgentRef.Parse(s).Id == AgentRef.Parse(type).Id);
            if (allowed is null)
                return new JsonObject { ["agentType"] = type, ["errorMessage"] = $"{me.Agent.Id} may not spawn {type}; it may spawn: {string.Join(", ", inherited)}." };
            try
            {
                var child = await session.Agents.ResolveAsync(allowed, ct);
                var previous = child.IncludeMessageHistory ? FinishedHistory(me.History) : [];
                var outcome = await new AgentRunner(session).RunAsync(child, (string?)r["prompt"], r["params"] as JsonObject, previous, ancestors,
                    me.AgentId, $"{toolCallId}-{i}", me.SystemPrompt, ct);
                lock (me.StepChildren) me.StepChildren.Add(outcome.RunId);
                lock (me) me.Total += outcome.TotalCredits;
                var result = new JsonObject { ["agentName"] = child.DisplayName, ["agentType"] = child.Id, ["status"] = outcome.Status };
                if (outcome.Error is not null) result["errorMessage"] = outcome.Error;
                result["value"] = child.OutputMode switch
                {
                    "structured_output" => outcome.StructuredOutput?.DeepClone(),
                    "all_messages" => new JsonArray(outcome.History.Select(h => (JsonNode)h.DeepClone()).ToArray()),
                    _ => outcome.Output,
                };
                return result;
            }
            catch (CliException e) when (e.ExitCode is not (3 or 4 or 5 or 7))
            {
                return new JsonObject { ["agentType"] = type, ["errorMessage"] = e.Message };
            }
        }));
        return new JsonArray(results.Select(r => (JsonNode)r).ToArray());
    }

    /// <summary>find_files: one extra LLM call (billed to this run) picks files from the project's file list; they are read.</summary>
    async Task<JsonNode> FindFilesAsync(State me, JsonObject input, CancellationToken ct)
    {
        var listing = string.Join('\n', session.Files.EnumerateFiles().Take(2000));
        var messages = new JsonArray
        {
            new JsonObject { ["role"] = "system", ["content"] = "You pick the files of a project that matter for a request. Answer with up to 12 project-relative paths from the list, one per line, nothing else." },
            User($"Request: {(string?)input["prompt"]}\n\nProject files:\n{listing}"),
        };
        var reply = await ChatAsync(me, messages, [], ct);
        me.Direct += reply.Credits;
        me.Total += reply.Credits;
        session.AddCredits(reply.Credits);
        if (session.OverBudget) return NotRun.DeepClone();
        var known = session.Files.EnumerateFiles().ToHashSet(StringComparer.Ordinal);
        var picked = reply.Text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimStart('-', '*', ' ').Trim('`')).Where(known.Contains).Distinct().Take(12).ToArray();
        return LocalTools.ReadFiles(session, new JsonObject { ["paths"] = new JsonArray(picked.Select(p => (JsonNode?)p).ToArray()) });
    }

    async Task<IReadOnlyList<AgentDefinition>> SpawnableAsync(AgentDefinition agent, CancellationToken ct)
    {
        if (!agent.ToolNames.Contains("spawn_agents")) return [];
        var found = new List<AgentDefinition>();
        foreach (var id in agent.SpawnableAgents)
        {
            try { found.Add(await session.Agents.ResolveAsync(id, ct)); }
            catch (CliException e) when (e.ExitCode == 1) { /* listed but missing: spawning it later says why */ }
        }
        return found;
    }

    async Task RecordStepAsync(State me, ChatReply reply, DateTime startTime)
    {
        // Like the SDK, a step that cannot be recorded does not stop the run; the FINISH totals still count it.
        try
        {
            using var timeout = new CancellationTokenSource(FinishTimeout);
            await session.Api.AddStepAsync(me.RunId, new AgentStepRecord(me.Steps, reply.Credits, me.StepChildren.ToArray(), reply.MessageId, "completed", null, startTime), timeout.Token);
        }
        catch (Exception e) when (e is CliException or OperationCanceledException) { }
        session.Emit(new StepRecorded(me.AgentId, me.Steps, reply.Credits, reply.MessageId));
    }

    async Task FinishAsync(State me, string status, string? error)
    {
        try
        {
            using var timeout = new CancellationTokenSource(FinishTimeout);
            await session.Api.FinishRunAsync(new AgentRunFinish(me.RunId, status, me.Steps, me.Direct, me.Total, error), timeout.Token);
        }
        catch (Exception e) when (e is CliException or OperationCanceledException) { }
        session.Emit(new AgentFinished(me.AgentId, me.ParentAgentId, me.RunId, status, me.Steps, me.Direct, me.Total, error));
    }

    static AgentOutcome Outcome(State me, string status, string? error)
    {
        var text = me.Output is JsonObject o && o["message"] is JsonValue m ? m.ToString() : me.LastText;
        return new AgentOutcome(me.RunId, status, text, me.Output, me.Total, me.History, error);
    }

    /// <summary>The conversation without tool calls still waiting for their results (a provider refuses those).</summary>
    static List<JsonObject> FinishedHistory(List<JsonObject> history)
    {
        var answered = history.Where(h => (string?)h["role"] == "tool").Select(h => (string?)h["tool_call_id"]).ToHashSet();
        var result = new List<JsonObject>();
        foreach (var h in history)
        {
            var copy = h.DeepClone().AsObject();
            if (copy["tool_calls"] is JsonArray calls)
            {
                foreach (var c in calls.Where(c => !answered.Contains((string?)c?["id"])).ToArray()) calls.Remove(c);
                if (calls.Count == 0) copy.Remove("tool_calls");
                if (copy["tool_calls"] is null && copy["content"] is null) continue;
            }
            result.Add(copy);
        }
        return result;
    }

    static string SystemPrompt(AgentDefinition agent) =>
        $"{agent.SystemPrompt}\n\nYou are working in a project on the user's machine through tools; paths are relative to the project root. Today is {DateTime.UtcNow:yyyy-MM-dd}.".Trim();

    static JsonObject User(string text) => new() { ["role"] = "user", ["content"] = text };
}
