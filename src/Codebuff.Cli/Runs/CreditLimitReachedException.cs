namespace Codebuff.Cli.Runs;

/// <summary>Thrown once the run's credits (sub-agents included) reached <c>--max-credits</c>: after the call that
/// crossed it (whose tool calls are then not run), or before the next call.</summary>
public sealed class CreditLimitReachedException(decimal limit, decimal spent)
    : Exception($"Stopped: the run used {spent:0.##} credits, reaching the --max-credits limit of {limit:0.##}; no tool call was run after that.");
