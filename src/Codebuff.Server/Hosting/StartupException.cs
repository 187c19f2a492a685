namespace Codebuff.Server.Hosting;

/// <summary>A problem the operator can fix; its message is printed as one line, without a stack trace.</summary>
public sealed class StartupException(string message) : Exception(message);
