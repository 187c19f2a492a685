namespace Codebuff.Server.Admin;

/// <summary>Bad input to an admin command: printed as one line, exit code 2.</summary>
public sealed class AdminException(string message) : Exception(message);
