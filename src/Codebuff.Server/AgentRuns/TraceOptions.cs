namespace Codebuff.Server.AgentRuns;

/// <summary>Section "Codebuff:Traces": what a trace keeps of each LLM call beyond the billing facts, and for how long.</summary>
public sealed class TraceOptions
{
    /// <summary>Days a step's stored content (service.trace_step) is kept; older rows are swept.</summary>
    public int RetentionDays { get; set; } = 30;

    /// <summary>Characters of text kept per step: new messages first, then tool-call arguments, then the system prompt.</summary>
    public int MaxStepChars { get; set; } = 64 * 1024;
}
