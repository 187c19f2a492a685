namespace Codebuff.Server.Chat;

/// <summary>
/// The request body each kind of provider gets; a provider's Kind ("Codebuff:Providers:n:Kind") is dispatched here and
/// nowhere else. OpenRouter gets Codebuff's body plus usage.include. Other OpenAI-compatible providers get
/// stream_options.include_usage (the SDK never asks for usage) and none of the Codebuff/OpenRouter extensions, which
/// strict servers reject.
/// </summary>
static class ProviderDialect
{
    /// <summary>Every Kind a provider may name.</summary>
    public static readonly string[] Kinds = ["openai", "openrouter"];

    public static JsonObject PrepareBody(JsonObject body, bool stream, string kind) => kind switch
    {
        "openrouter" => OpenRouterBody(body),
        "openai" => OpenAiBody(body, stream),
        _ => throw new InvalidOperationException($"unknown provider kind '{kind}'"),
    };

    static JsonObject OpenRouterBody(JsonObject body)
    {
        var copy = (JsonObject)body.DeepClone();
        var usage = copy["usage"] as JsonObject ?? new JsonObject();
        usage["include"] = true;
        copy["usage"] = usage;
        return copy;
    }

    static JsonObject OpenAiBody(JsonObject body, bool stream)
    {
        var copy = (JsonObject)body.DeepClone();
        copy.Remove("codebuff_metadata");
        copy.Remove("usage");
        copy.Remove("provider");
        copy.Remove("reasoning");
        if (stream)
        {
            var options = copy["stream_options"] as JsonObject ?? new JsonObject();
            options["include_usage"] = true;
            copy["stream_options"] = options;
        }
        if (copy["messages"] is JsonArray messages)
            foreach (var message in messages.OfType<JsonObject>())
            {
                message.Remove("cache_control");
                if (message["content"] is JsonArray parts)
                    foreach (var part in parts.OfType<JsonObject>()) part.Remove("cache_control");
            }
        return copy;
    }
}
