namespace Codebuff.Server.Chat;

/// <summary>
/// The chat route's wire shapes as the OpenAPI document names them. The proxy forwards the body it was given and
/// relays the provider's answer (JSON, or an SSE stream of chunks when <c>stream</c> is true), so these describe
/// rather than bind.
/// </summary>
public static class ChatWire
{
    /// <summary>
    /// An OpenAI chat completion request, plus Codebuff's metadata (run_id, cost_mode, client_id, n) from the SDK; a
    /// plain request without it runs under a run of its own (README "The OpenAI-compatible gateway").
    /// </summary>
    public sealed record Request(string Model, JsonArray Messages, bool? Stream,
        [property: JsonPropertyName("codebuff_metadata")] Metadata? CodebuffMetadata);

    public sealed record Metadata(
        [property: JsonPropertyName("run_id")] string RunId,
        [property: JsonPropertyName("cost_mode")] string? CostMode,
        [property: JsonPropertyName("client_id")] string? ClientId,
        int? N);

    /// <summary>An OpenAI chat completion; usage.cost is the credits charged / 105.5 (README, "Billing of LLM calls").</summary>
    public sealed record Completion(string Id, string Object, long Created, string Model, JsonArray Choices, JsonObject Usage);

    /// <summary>The provider failed or timed out: <c>{"error":{"message","code"}}</c>.</summary>
    public sealed record ProviderError(ProviderErrorDetail Error);

    public sealed record ProviderErrorDetail(string Message, int Code);

    /// <summary>The user's stored key was refused by the provider (401): which key type, which provider; never the key.</summary>
    public sealed record StoredKeyRejected(StoredKeyRejectedDetail Error);

    public sealed record StoredKeyRejectedDetail(string Message, string Type, string Code, [property: JsonPropertyName("key_type")] string KeyType, string Provider);
}
