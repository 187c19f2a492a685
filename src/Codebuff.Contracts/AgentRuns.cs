namespace Codebuff.Contracts;

/// <summary>POST /api/v1/agent-runs with action START (api.md §2.3); ancestors are root-first.</summary>
public sealed record AgentRunStart(string AgentId, IReadOnlyList<string> AncestorRunIds)
{
    public string Action => "START";
}

/// <summary>The answer to START: the server-generated run id.</summary>
public sealed record AgentRunStarted(string RunId);

/// <summary>POST /api/v1/agent-runs with action FINISH; status is completed, failed or cancelled.</summary>
public sealed record AgentRunFinish(string RunId, string Status, int TotalSteps, decimal DirectCredits, decimal TotalCredits, string? ErrorMessage)
{
    public string Action => "FINISH";
}

/// <summary>POST /api/v1/agent-runs/{runId}/steps (api.md §2.4): one LLM or programmatic step of a run.</summary>
public sealed record AgentStepRecord(int StepNumber, decimal Credits, IReadOnlyList<string> ChildRunIds, string? MessageId,
    string Status, string? ErrorMessage, DateTime StartTime);
