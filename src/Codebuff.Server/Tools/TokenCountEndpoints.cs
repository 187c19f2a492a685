namespace Codebuff.Server.Tools;

/// <summary>
/// POST /api/v1/token-count (api.md §2.6). [our choice] counted locally with the o200k_base encoding: the text of
/// every message part (non-text parts as their JSON) plus 3 tokens per message for role and separators.
/// </summary>
public static class TokenCountEndpoints
{
    public static void MapTools(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/token-count", Count).RequireCaller(CallerAuthentication.ApiKey, Unauthenticated.Tools)
            .Takes<CountRequest>().Answers<TokenCount>().RefusesWith<ErrorDetailsBody>(400);
        SearchEndpoints.Map(app);
    }

    /// <summary>messages: OpenAI-style chat messages (content a string or an array of parts).</summary>
    public sealed record CountRequest(JsonArray Messages, string? System, string? Model);
    public sealed record TokenCount(int InputTokens);

    static async Task<Results<Ok<TokenCount>, ErrorResult, DetailsResult>> Count(HttpRequest request, TokenCounter counter, CancellationToken ct)
    {
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJson();

        var errors = new BodyErrors();
        if (body["messages"] is not JsonArray messages) { errors.Add(body["messages"] is null ? "Required" : $"Expected array, received {JsonKind.Of(body["messages"])}", "messages"); messages = []; }
        var system = errors.String(body, "system", required: false);
        errors.String(body, "model", required: false);
        if (errors.Any) return errors.ToResult();

        var total = counter.Count(system);
        foreach (var message in messages)
        {
            total += 3;
            switch (message?["content"])
            {
                case JsonValue v when v.GetValueKind() == JsonValueKind.String: total += counter.Count(v.GetValue<string>()); break;
                case JsonArray parts:
                    foreach (var part in parts)
                        total += part?["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "text" && part["text"] is JsonValue text && text.TryGetValue<string>(out var s)
                            ? counter.Count(s)
                            : counter.Count(part?.ToJsonString());
                    break;
                case { } other: total += counter.Count(other.ToJsonString()); break;
            }
        }
        return TypedResults.Ok(new TokenCount(total));
    }
}
