namespace Codebuff.Server.Tools;

/// <summary>Section "Codebuff:Search": the providers behind the SDK's web_search and read_docs tools.</summary>
public sealed class SearchOptions
{
    /// <summary>"linkup" or "json"; unset: "json" when <see cref="WebBaseUrl"/> is set, else "linkup".</summary>
    public string? WebKind { get; set; }

    /// <summary>"context7" or "json"; unset: "json" when <see cref="DocsBaseUrl"/> is set, else "context7".</summary>
    public string? DocsKind { get; set; }

    /// <summary>Linkup (https://docs.linkup.so): POST {BaseUrl}/search, Bearer key. Configured once its key is set.</summary>
    public SearchProviderOptions Linkup { get; set; } = new() { BaseUrl = "https://api.linkup.so/v1" };

    /// <summary>Context7's REST API: GET {BaseUrl}/v2/libs/search and /v2/context, Bearer key. Configured once its key is set.</summary>
    public SearchProviderOptions Context7 { get; set; } = new() { BaseUrl = "https://context7.com/api" };

    /// <summary>Kind "json", a server of our own contract: POST {WebBaseUrl}/search {"query","depth"} → {"result": string|null}.</summary>
    public string? WebBaseUrl { get; set; }

    /// <summary>Kind "json": POST {DocsBaseUrl}/docs {"libraryTitle","topic","maxTokens"} → {"documentation": string|null}.</summary>
    public string? DocsBaseUrl { get; set; }

    /// <summary>Kind "json": sent to both of its servers as "Authorization: Bearer" when set.</summary>
    public string? ApiKey { get; set; }

    public string WebProvider => (WebKind ?? (string.IsNullOrWhiteSpace(WebBaseUrl) ? "linkup" : "json")).Trim().ToLowerInvariant();
    public string DocsProvider => (DocsKind ?? (string.IsNullOrWhiteSpace(DocsBaseUrl) ? "context7" : "json")).Trim().ToLowerInvariant();
    public bool KnownKinds => WebProvider is "linkup" or "json" && DocsProvider is "context7" or "json";
}
