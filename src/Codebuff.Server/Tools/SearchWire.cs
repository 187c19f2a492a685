namespace Codebuff.Server.Tools;

/// <summary>The web and docs search routes' wire shapes as the OpenAPI document names them.</summary>
public static class SearchWire
{
    public sealed record WebRequest(string Query, string? Depth, string? RepoUrl);
    /// <summary>An empty search answers 200 with <c>{"error":"No search results found …"}</c> and charges nothing.</summary>
    public sealed record WebResult([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Result, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? CreditsUsed, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);
    public sealed record DocsRequest(string LibraryTitle, string? Topic, int? MaxTokens, string? RepoUrl);
    public sealed record DocsResult([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Documentation, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? CreditsUsed, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);
    /// <summary>nextQuotaReset only when the caller pays (an org's credits do not reset).</summary>
    public sealed record InsufficientCredits(string Message, int TotalRemaining, int Required, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? NextQuotaReset);
}
