using System.Net.Http.Json;
using System.Text;

namespace Codebuff.Server.Tools;

/// <summary>
/// One search at a provider: the text it found (null when nothing), or an exception (HTTP failure, timeout, a body
/// that is not what the provider documents), which the route answers as a provider error without charging.
/// </summary>
public delegate Task<string?> SearchCall(HttpClient http, CancellationToken ct);

/// <summary>The search providers' requests and answers; null calls mean the configured kind lacks its settings.</summary>
public static class SearchProviders
{
    /// <summary>Linkup's sourced answer: the answer, then its sources as "- name: url" lines.</summary>
    public static SearchCall? Web(SearchOptions o, string query, string depth) => o.WebProvider switch
    {
        "linkup" when !string.IsNullOrWhiteSpace(o.Linkup.ApiKey) => Linkup(o, query, depth),
        "json" when !string.IsNullOrWhiteSpace(o.WebBaseUrl) => (http, ct) => OwnContractAsync(http, o, o.WebBaseUrl, "search",
            new JsonObject { ["query"] = query, ["depth"] = depth }, "result", ct),
        _ => null,
    };

    static SearchCall Linkup(SearchOptions o, string query, string depth) => async (http, ct) =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, o.Linkup.BaseUrl.TrimEnd('/') + "/search")
        {
            Content = JsonContent.Create(new JsonObject { ["q"] = query, ["depth"] = depth, ["outputType"] = "sourcedAnswer" }),
        };
        request.Headers.Authorization = new("Bearer", o.Linkup.ApiKey);
        var answer = await SendForJsonAsync(http, request, ct);
        if (Str(answer?["answer"]) is not { Length: > 0 } text) return null;
        var sources = (answer!["sources"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(s => (Name: Str(s["name"]), Url: Str(s["url"]))).Where(s => s.Url is not null).ToList();
        if (sources.Count == 0) return text;
        var sb = new StringBuilder(text).Append("\n\nSources:");
        foreach (var (name, url) in sources) sb.Append("\n- ").Append(string.IsNullOrEmpty(name) ? url : $"{name}: {url}");
        return sb.ToString();
    };

    /// <summary>
    /// Context7: the library's id from its search (the first, best-ranked match), then that library's documentation as
    /// text for the topic. [our choice] the text is cut at maxTokens × 4 characters (about 4 per token).
    /// </summary>
    public static SearchCall? Docs(SearchOptions o, string library, string? topic, int? maxTokens) => o.DocsProvider switch
    {
        "context7" when !string.IsNullOrWhiteSpace(o.Context7.ApiKey) => Context7(o, library, topic, maxTokens),
        "json" when !string.IsNullOrWhiteSpace(o.DocsBaseUrl) => (http, ct) => OwnContractAsync(http, o, o.DocsBaseUrl, "docs",
            new JsonObject { ["libraryTitle"] = library, ["topic"] = topic, ["maxTokens"] = maxTokens }, "documentation", ct),
        _ => null,
    };

    static SearchCall Context7(SearchOptions o, string library, string? topic, int? maxTokens) => async (http, ct) =>
    {
        var baseUrl = o.Context7.BaseUrl.TrimEnd('/');
        var query = string.IsNullOrWhiteSpace(topic) ? library : topic;
        using var search = Get($"{baseUrl}/v2/libs/search?libraryName={Uri.EscapeDataString(library)}&query={Uri.EscapeDataString(query)}", o.Context7.ApiKey);
        var found = await SendForJsonNodeAsync(http, search, ct);
        var libraries = found as JsonArray ?? found?["results"] as JsonArray ?? throw new System.Text.Json.JsonException("Context7's library search answered no results array");
        if (libraries.OfType<JsonObject>().Select(l => Str(l["id"])).FirstOrDefault(id => !string.IsNullOrEmpty(id)) is not { } libraryId) return null;

        using var context = Get($"{baseUrl}/v2/context?libraryId={Uri.EscapeDataString(libraryId)}&query={Uri.EscapeDataString(query)}&type=txt", o.Context7.ApiKey);
        using var response = await http.SendAsync(context, ct);
        response.EnsureSuccessStatusCode();
        var text = (await response.Content.ReadAsStringAsync(ct)).Trim();
        if (text.Length == 0 || text is "No content available" or "No context data available") return null;
        return maxTokens is { } m && text.Length > (long)m * 4 ? text[..(m * 4)] : text;
    };

    static async Task<string?> OwnContractAsync(HttpClient http, SearchOptions o, string baseUrl, string path, JsonObject body, string field, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl.TrimEnd('/') + "/" + path) { Content = JsonContent.Create(body) };
        if (!string.IsNullOrEmpty(o.ApiKey)) request.Headers.Authorization = new("Bearer", o.ApiKey);
        return Str((await SendForJsonAsync(http, request, ct))?[field]);
    }

    static HttpRequestMessage Get(string url, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new("Bearer", key);
        return request;
    }

    static async Task<JsonObject?> SendForJsonAsync(HttpClient http, HttpRequestMessage request, CancellationToken ct) =>
        await SendForJsonNodeAsync(http, request, ct) as JsonObject;

    static async Task<JsonNode?> SendForJsonNodeAsync(HttpClient http, HttpRequestMessage request, CancellationToken ct)
    {
        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonNode>(ct);
    }

    static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
