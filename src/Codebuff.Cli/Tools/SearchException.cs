namespace Codebuff.Cli.Tools;

/// <summary>A search that could not run (a bad pattern); its message is the tool's error.</summary>
public sealed class SearchException(string message) : Exception(message);
