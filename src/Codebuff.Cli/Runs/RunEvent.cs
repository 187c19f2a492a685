using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Codebuff.Cli.Runs;

/// <summary>
/// What happens during a run, in order. The live tree and the <c>--json</c> stream are both built from these.
/// <c>AgentId</c> names one running agent instance (the root and each sub-agent get their own).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(AgentStarted), "agent_start")]
[JsonDerivedType(typeof(TextDelta), "text")]
[JsonDerivedType(typeof(ReasoningDelta), "reasoning")]
[JsonDerivedType(typeof(ToolCalled), "tool_call")]
[JsonDerivedType(typeof(ToolFinished), "tool_result")]
[JsonDerivedType(typeof(StepRecorded), "step")]
[JsonDerivedType(typeof(AgentFinished), "agent_finish")]
[JsonDerivedType(typeof(RunCompleted), "final")]
[JsonDerivedType(typeof(KnowledgeLoaded), "knowledge")]
[JsonDerivedType(typeof(McpServerStarted), "mcp_server")]
public abstract record RunEvent(string AgentId);

/// <summary>An agent's run was STARTed; <c>ParentAgentId</c> is null for the root.</summary>
public sealed record AgentStarted(string AgentId, string? ParentAgentId, string RunId, string AgentType, string DisplayName,
    string? Prompt, string? SpawnToolCallId) : RunEvent(AgentId);

public sealed record TextDelta(string AgentId, string Text) : RunEvent(AgentId);

public sealed record ReasoningDelta(string AgentId, string Text) : RunEvent(AgentId);

public sealed record ToolCalled(string AgentId, string ToolCallId, string ToolName, JsonNode? Input) : RunEvent(AgentId);

public sealed record ToolFinished(string AgentId, string ToolCallId, string ToolName, JsonNode? Output) : RunEvent(AgentId);

/// <summary>A step was recorded on the server; <c>Credits</c> is what its LLM call cost.</summary>
public sealed record StepRecorded(string AgentId, int StepNumber, decimal Credits, string? MessageId) : RunEvent(AgentId);

/// <summary>An agent's run was FINISHed: its own LLM credits and those including its sub-agents.</summary>
public sealed record AgentFinished(string AgentId, string? ParentAgentId, string RunId, string Status, int TotalSteps,
    decimal DirectCredits, decimal TotalCredits, string? Error) : RunEvent(AgentId);

/// <summary>The prompt is done: the final answer and the totals of the whole run, sub-agents included.</summary>
public sealed record RunCompleted(string AgentId, string RunId, string Status, string? Output, decimal TotalCredits, string? Error) : RunEvent(AgentId);

/// <summary>The knowledge files of this prompt (read, cut at the cap, or left out and why), once before the root agent starts.</summary>
public sealed record KnowledgeLoaded(string AgentId, IReadOnlyList<Agents.KnowledgeFile> Files, int TotalChars, int MaxChars) : RunEvent(AgentId);

/// <summary>An MCP server an agent uses: the tools it offers (<c>server__tool</c>), or why it did not start.</summary>
public sealed record McpServerStarted(string AgentId, string Server, string Transport, IReadOnlyList<string> Tools, string? Error) : RunEvent(AgentId);
