namespace Codebuff.Server.Tools;

/// <summary>The web and docs search routes' wire shapes as the OpenAPI document names them.</summary>
public static class SearchWire
{
    public sealed record WebRequest(string Query, string? Depth, string? RepoUrl);
    /// <summary>An empty search answers 200 with <c>{"error":"No search results found …"}</c> and charges nothing.</summary>
    public sealed record WebResult(string? Result, int? CreditsUsed, string? Error);
    public sealed record DocsRequest(string LibraryTitle, string? Topic, int? MaxTokens, string? RepoUrl);
    public sealed record DocsResult(string? Documentation, int? CreditsUsed, string? Error);
    public sealed record InsufficientCredits(string Message, int TotalRemaining, int Required, DateTime? NextQuotaReset);
}
