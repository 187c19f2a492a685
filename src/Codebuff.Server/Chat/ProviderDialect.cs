using System.Net.Http.Headers;
using System.Text;
using Codebuff.Server.Chat.Anthropic;

namespace Codebuff.Server.Chat;

/// <summary>
/// What each kind of provider is sent and how its answer is read; a provider's Kind ("Codebuff:Providers:n:Kind", or
/// "Codebuff:Upstream:Kind") is dispatched here and nowhere else. OpenRouter gets Codebuff's body plus usage.include.
/// Other OpenAI-compatible providers get stream_options.include_usage (the SDK never asks for usage) and none of the
/// Codebuff/OpenRouter extensions, which strict servers reject. Anthropic gets the body translated to its Messages API,
/// and its answer is translated back to OpenAI's shape (Chat/Anthropic).
/// </summary>
static class ProviderDialect
{
    /// <summary>Every Kind a provider may name.</summary>
    public static readonly string[] Kinds = ["openai", "openrouter", "anthropic"];

    /// <summary>Anthropic's API, for Codebuff:Upstream:Kind=anthropic when the base URL was left at its (OpenRouter) default.</summary>
    public const string AnthropicBaseUrl = "https://api.anthropic.com/v1";

    /// <summary>
    /// The header a caller's own provider key (BYOK) comes in for a provider of this kind: an OpenRouter key is no use
    /// to Anthropic, so an Anthropic provider takes the caller's Anthropic key instead.
    /// </summary>
    public static string ByokHeader(string kind) => kind == "anthropic" ? "x-anthropic-api-key" : "x-openrouter-api-key";

    /// <summary>The request for one call to one provider, with the key it is called with (the caller's when BYOK, else the server's).</summary>
    public static HttpRequestMessage CreateRequest(ProviderOptions provider, JsonObject body, bool stream, string? key)
    {
        var (path, forwarded) = provider.Kind switch
        {
            "anthropic" => ("/messages", AnthropicRequest.Translate(body, stream)),
            "openrouter" => ("/chat/completions", OpenRouterBody(body)),
            "openai" => ("/chat/completions", OpenAiBody(body, stream)),
            _ => throw new InvalidOperationException($"unknown provider kind '{provider.Kind}'"),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, provider.BaseUrl.TrimEnd('/') + path)
        {
            Content = new StringContent(forwarded.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (provider.Kind == "anthropic")
        {
            if (!string.IsNullOrEmpty(key)) request.Headers.Add("x-api-key", key);
            request.Headers.Add("anthropic-version", AnthropicAnswer.ApiVersion);
        }
        else if (!string.IsNullOrEmpty(key)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (stream) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }

    /// <summary>A successful answer in OpenAI's shape (JSON, or an SSE stream of chunks), as the proxy and relay read it.</summary>
    public static HttpResponseMessage ReadAnswer(ProviderOptions provider, HttpResponseMessage response, JsonObject body, bool stream)
    {
        if (provider.Kind == "anthropic") response.Content = new AnthropicAnswer(response.Content, ProviderJson.Str(body["model"]) ?? "", stream);
        return response;
    }

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
