namespace Codebuff.Cli.Runs;

/// <summary>Thrown before an LLM call once the run's credits (sub-agents included) reached <c>--max-credits</c>.</summary>
public sealed class CreditLimitReachedException(decimal limit, decimal spent)
    : Exception($"Stopped: the run used {spent:0.##} credits, reaching the --max-credits limit of {limit:0.##}.");
