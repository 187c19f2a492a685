using System.Text;
using System.Text.Json.Nodes;
using Codebuff.Cli.Runs;

namespace Codebuff.Cli.Ui;

/// <summary>
/// The message tree of one prompt (clients.md §2.8), built from run events: text and reasoning blocks, tool calls with
/// their results, and a nested block per sub-agent with its own credits.
/// </summary>
public sealed class MessageTree
{
    public abstract class Block;

    public sealed class TextBlock(bool reasoning) : Block
    {
        public bool Reasoning { get; } = reasoning;
        public StringBuilder Content { get; } = new();
    }

    public sealed class ToolBlock(string toolCallId, string name, JsonNode? input) : Block
    {
        public string ToolCallId { get; } = toolCallId;
        public string Name { get; } = name;
        public JsonNode? Input { get; } = input;
        public JsonNode? Output { get; set; }
        public bool Done { get; set; }
        /// <summary>Its agent ended (cancelled, failed) before the tool answered.</summary>
        public bool Stopped { get; set; }
    }

    public sealed class AgentBlock(string agentId, string agentType, string displayName, string? prompt) : Block
    {
        public string AgentId { get; } = agentId;
        public string AgentType { get; } = agentType;
        public string DisplayName { get; } = displayName;
        public string? Prompt { get; } = prompt;
        public string Status { get; set; } = "running";
        public decimal DirectCredits { get; set; }
        public decimal TotalCredits { get; set; }
        public string? Error { get; set; }
        public List<Block> Blocks { get; } = [];
    }

    readonly Dictionary<string, AgentBlock> _agents = [];

    public AgentBlock? Root { get; private set; }
    public RunCompleted? Completed { get; private set; }

    public void Apply(RunEvent e)
    {
        switch (e)
        {
            case AgentStarted s:
                var block = new AgentBlock(s.AgentId, s.AgentType, s.DisplayName, s.Prompt);
                _agents[s.AgentId] = block;
                if (s.ParentAgentId is not null && _agents.TryGetValue(s.ParentAgentId, out var parent)) parent.Blocks.Add(block);
                else Root ??= block;
                break;
            case TextDelta t when Agent(t) is { } a:
                Text(a, reasoning: false).Content.Append(t.Text);
                break;
            case ReasoningDelta r when Agent(r) is { } a:
                Text(a, reasoning: true).Content.Append(r.Text);
                break;
            // spawn_agents shows as the agent blocks it creates, end_turn not at all.
            case ToolCalled c when Agent(c) is { } a && c.ToolName is not ("spawn_agents" or "end_turn" or "task_completed"):
                a.Blocks.Add(new ToolBlock(c.ToolCallId, c.ToolName, c.Input));
                break;
            case ToolFinished f when Agent(f) is { } a && a.Blocks.OfType<ToolBlock>().LastOrDefault(b => b.ToolCallId == f.ToolCallId) is { } tool:
                tool.Output = f.Output;
                tool.Done = true;
                break;
            case AgentFinished f when Agent(f) is { } a:
                a.Status = f.Status;
                a.DirectCredits = f.DirectCredits;
                a.TotalCredits = f.TotalCredits;
                a.Error = f.Error;
                foreach (var unanswered in a.Blocks.OfType<ToolBlock>().Where(b => !b.Done)) unanswered.Stopped = true;
                break;
            case StepRecorded s when Agent(s) is { } a:
                a.DirectCredits += s.Credits;
                break;
            // A server that did not start is said where its agent's output goes; the run goes on without it.
            case McpServerStarted { Error: { } error } m when Agent(m) is { } a:
                var notice = new TextBlock(reasoning: false);
                notice.Content.Append($"[{error}]\n");
                a.Blocks.Add(notice);
                break;
            case RunCompleted done:
                Completed = done;
                break;
        }
    }

    AgentBlock? Agent(RunEvent e) => _agents.GetValueOrDefault(e.AgentId);

    static TextBlock Text(AgentBlock agent, bool reasoning)
    {
        if (agent.Blocks.LastOrDefault() is TextBlock last && last.Reasoning == reasoning) return last;
        var block = new TextBlock(reasoning);
        agent.Blocks.Add(block);
        return block;
    }
}
