using System.Net.Http.Headers;
using System.Text;
using Codebuff.Server.Chat.Anthropic;

namespace Codebuff.Server.Chat;

/// <summary>The kinds of provider chat completions can be forwarded to (Codebuff:Upstream:Kind).</summary>
public enum ProviderKind { OpenAi, OpenRouter, Anthropic }

/// <summary>
/// What each kind of provider is sent and how its answer is read: the one place that knows the kinds. OpenRouter gets
/// Codebuff's body plus usage.include. OpenAI-compatible providers get stream_options.include_usage (the SDK never asks
/// for usage) and none of the Codebuff/OpenRouter extensions, which strict servers reject. Anthropic gets the body
/// translated to its Messages API, and its answer is translated back to OpenAI's shape (Chat/Anthropic).
/// </summary>
static class ProviderDialect
{
    public static readonly string[] Kinds = ["openai", "openrouter", "anthropic"];

    /// <summary>Anthropic's API when the kind is anthropic and the base URL was left at its (OpenRouter) default.</summary>
    public const string AnthropicBaseUrl = "https://api.anthropic.com/v1";

    public static ProviderKind KindOf(UpstreamOptions o) => o.Kind?.Trim().ToLowerInvariant() switch
    {
        "anthropic" => ProviderKind.Anthropic,
        "openrouter" => ProviderKind.OpenRouter,
        "openai" => ProviderKind.OpenAi,
        null or "" => (o.IsOpenRouter ?? (Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out var u) && u.Host.EndsWith("openrouter.ai", StringComparison.OrdinalIgnoreCase)))
            ? ProviderKind.OpenRouter : ProviderKind.OpenAi,
        _ => throw new InvalidOperationException($"Codebuff:Upstream:Kind must be one of {string.Join(", ", Kinds)}."),
    };

    public static bool KnownKind(UpstreamOptions o) => string.IsNullOrWhiteSpace(o.Kind) || Kinds.Contains(o.Kind.Trim().ToLowerInvariant());

    /// <summary>
    /// The header a caller's own provider key (BYOK) comes in: an OpenRouter key is no use to Anthropic, so an
    /// Anthropic upstream takes the caller's Anthropic key instead.
    /// </summary>
    public static string ByokHeader(UpstreamOptions o) => KindOf(o) == ProviderKind.Anthropic ? "x-anthropic-api-key" : "x-openrouter-api-key";

    /// <summary>The request for one call, with the provider's authentication (the caller's key when BYOK, else ours).</summary>
    public static HttpRequestMessage CreateRequest(UpstreamOptions o, JsonObject body, bool stream, string? key)
    {
        var kind = KindOf(o);
        HttpRequestMessage request;
        if (kind == ProviderKind.Anthropic)
        {
            var baseUrl = o.BaseUrl == new UpstreamOptions().BaseUrl ? AnthropicBaseUrl : o.BaseUrl;
            request = new HttpRequestMessage(HttpMethod.Post, baseUrl.TrimEnd('/') + "/messages")
            {
                Content = new StringContent(AnthropicRequest.Translate(body, stream).ToJsonString(), Encoding.UTF8, "application/json"),
            };
            if (!string.IsNullOrEmpty(key)) request.Headers.Add("x-api-key", key);
            request.Headers.Add("anthropic-version", AnthropicAnswer.ApiVersion);
        }
        else
        {
            request = new HttpRequestMessage(HttpMethod.Post, o.BaseUrl.TrimEnd('/') + "/chat/completions")
            {
                Content = new StringContent(PrepareBody(body, stream, kind == ProviderKind.OpenRouter).ToJsonString(), Encoding.UTF8, "application/json"),
            };
            if (!string.IsNullOrEmpty(key)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        if (stream) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return request;
    }

    /// <summary>A successful answer in OpenAI's shape (JSON, or an SSE stream of chunks), as the proxy and relay read it.</summary>
    public static HttpResponseMessage ReadAnswer(UpstreamOptions o, HttpResponseMessage response, JsonObject body, bool stream)
    {
        if (KindOf(o) == ProviderKind.Anthropic) response.Content = new AnthropicAnswer(response.Content, Str(body["model"]) ?? "", stream);
        return response;
    }

    static string? Str(JsonNode? node) => ProviderJson.Str(node);

    public static JsonObject PrepareBody(JsonObject body, bool stream, bool openRouter)
    {
        var copy = (JsonObject)body.DeepClone();
        if (openRouter)
        {
            var usage = copy["usage"] as JsonObject ?? new JsonObject();
            usage["include"] = true;
            copy["usage"] = usage;
            return copy;
        }
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
