namespace Codebuff.Contracts;

/// <summary>POST /api/auth/cli/code → the login link the CLI opens and the values it polls with (api.md §4.1).</summary>
public sealed record CliLoginCode(string FingerprintId, string FingerprintHash, string LoginUrl, long ExpiresAt);

/// <summary>GET /api/auth/cli/status → the signed-in user and the CLI's token (api.md §4.3).</summary>
public sealed record CliLoginStatus(CliUser User, string Message);

/// <summary>What the CLI stores as its credentials; it then sends <c>Authorization: Bearer AuthToken</c>.</summary>
public sealed record CliUser(string Id, string? Name, string Email, string AuthToken, string FingerprintId, string FingerprintHash);
