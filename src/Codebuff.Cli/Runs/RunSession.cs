using Codebuff.Cli.Agents;
using Codebuff.Cli.Api;
using Codebuff.Cli.Tools;

namespace Codebuff.Cli.Runs;

/// <summary>How a prompt runs: project root, where and whether commands run, the credit cap and the cost mode sent with each LLM call.</summary>
public sealed record RunOptions(string ProjectRoot, CommandApproval Commands, decimal? MaxCredits, string CostMode = "normal", int MaxAgentSteps = 100);

/// <summary>
/// Everything one prompt's agents share: the API, the project's files, the edit journal, the user prompter, the
/// event sink and the running credit total (the root and every sub-agent add to it; <c>--max-credits</c> checks it).
/// </summary>
public sealed class RunSession(CodebuffApi api, AgentResolver agents, RunOptions options, ProjectFiles files, EditJournal journal,
    UserPrompter prompter, Action<RunEvent> emit, string? byokKey)
{
    readonly Lock _gate = new();
    decimal _credits;

    public CodebuffApi Api { get; } = api;
    public AgentResolver Agents { get; } = agents;
    public RunOptions Options { get; } = options;
    public ProjectFiles Files { get; } = files;
    public EditJournal Journal { get; } = journal;
    public UserPrompter Prompter { get; } = prompter;
    public string? ByokKey { get; } = byokKey;
    /// <summary>Knowledge, skills and mcp.json servers of the project (none unless the prompt runner loads them).</summary>
    public ProjectContext Context { get; init; } = ProjectContext.Empty;
    /// <summary>Sent as <c>codebuff_metadata.client_id</c> with every LLM call of this prompt.</summary>
    public string ClientId { get; } = Guid.NewGuid().ToString();

    public decimal Credits { get { lock (_gate) return _credits; } }

    public void Emit(RunEvent e)
    {
        lock (_gate) emit(e);
    }

    public void AddCredits(decimal credits)
    {
        lock (_gate) _credits += credits;
    }

    /// <summary>True once the run's credits reached <c>--max-credits</c>: nothing more is asked of the model or run.</summary>
    public bool OverBudget => Options.MaxCredits is { } max && Credits >= max;

    public void CheckBudget()
    {
        if (OverBudget) throw new CreditLimitReachedException(Options.MaxCredits!.Value, Credits);
    }
}
