namespace Codebuff.Server.Chat;

/// <summary>
/// One entry of "Codebuff:Providers": an LLM provider, the models it serves and the key it is called with
/// (README "Providers and fallback").
/// </summary>
public sealed class ProviderOptions
{
    /// <summary>Recorded beside each message it answered (service.message_provider) and named in errors.</summary>
    public string Name { get; set; } = "";

    /// <summary>The body dialect, one of <see cref="ProviderDialect.Kinds"/>.</summary>
    public string Kind { get; set; } = "openai";

    /// <summary>Base URL; "/chat/completions" is appended ("/messages" for Kind anthropic).</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>The server's key for this provider; unset sends no Authorization header.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Model names it serves; an entry ending in "*" is a prefix ("openai/*"; "*" alone serves every model).</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Lower is tried first; equal priorities keep the list's order.</summary>
    public int Priority { get; set; }

    /// <summary>The stored user key (encrypted_api_keys type: openai, anthropic or gemini) used instead of <see cref="ApiKey"/>; unset: none.</summary>
    public string? KeyType { get; set; }

    /// <summary>
    /// Whether the provider refuses a made-up key: OpenRouter and Anthropic do, and so does any provider the server
    /// holds a key for. One with no key of ours (a self-hosted server) may check nothing, so a caller's "own" key
    /// for it proves nothing and must not make the call BYOK (unbilled).
    /// </summary>
    public bool ChecksKeys => Kind is "openrouter" or "anthropic" || !string.IsNullOrEmpty(ApiKey);

    /// <summary>
    /// Whether the provider reports each call's cost in its usage (OpenRouter's usage.cost); unset: only Kind openrouter.
    /// </summary>
    public bool? ReportsCost { get; set; }

    /// <summary>
    /// [our choice] Whether a call of the model here can be billed at its real price: our price table knows the model, or
    /// the provider reports the cost. A provider that reports none would have an unknown model billed at a guess (a
    /// caller could pick the costliest model behind a prefix entry and pay the default price), so it is not sent one.
    /// </summary>
    public bool Bills(string model) => (ReportsCost ?? Kind == "openrouter") || CreditPricing.PriceOf(model).Known;

    public bool Serves(string model) => Models.Any(m => m.EndsWith('*')
        ? model.StartsWith(m[..^1], StringComparison.OrdinalIgnoreCase)
        : string.Equals(m, model, StringComparison.OrdinalIgnoreCase));
}
