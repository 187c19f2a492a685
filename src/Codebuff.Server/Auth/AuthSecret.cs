namespace Codebuff.Server.Auth;

/// <summary>The auth secret, resolved once (configured, or generated into DataDir) and shared by every use.</summary>
public sealed record AuthSecret(string Value);
