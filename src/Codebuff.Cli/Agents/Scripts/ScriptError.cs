namespace Codebuff.Cli.Agents.Scripts;

/// <summary>Why a definition file did not load, with the line when known.</summary>
public sealed class ScriptError(int? line, string reason) : Exception(reason)
{
    public int? Line { get; } = line;
}
