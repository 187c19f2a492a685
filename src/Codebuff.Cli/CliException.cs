namespace Codebuff.Cli;

/// <summary>A failure the user is told about in one sentence (never a stack trace); the process exits with ExitCode.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CliException NotLoggedIn() =>
        new("You are not logged in. Run `codebuff login` (or set CODEBUFF_API_KEY to an API key).");
}
