using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat;

/// <summary>The provider's answer to the forwarded request, or the error result the client gets instead.</summary>
public sealed record UpstreamResponse(HttpResponseMessage? Response, IResult? Error) : IDisposable
{
    public void Dispose() => Response?.Dispose();
}

/// <summary>Sends chat completions to the configured OpenAI-compatible provider and maps its failures to client errors.</summary>
public sealed class ProviderClient(IHttpClientFactory httpFactory, IOptions<UpstreamOptions> upstreamOptions, ILogger<ProviderClient> log)
{
    public const string HttpClientName = "upstream-llm";

    public UpstreamOptions Upstream => upstreamOptions.Value;

    public async Task<UpstreamResponse> SendAsync(JsonObject body, ProxyCall call, bool stream)
    {
        var request = ProviderDialect.CreateRequest(Upstream, body, stream, call.ByokKey ?? Upstream.ApiKey);

        HttpResponseMessage response;
        // Not the request's token: a client that hangs up must not stop the call it is going to be billed for.
        using var headerTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(Upstream.TimeoutSeconds));
        try
        {
            response = await httpFactory.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headerTimeout.Token);
        }
        catch (OperationCanceledException)
        {
            return new(null, Error(504, $"The model provider did not answer within {Upstream.TimeoutSeconds:0.#} s."));
        }
        catch (HttpRequestException e)
        {
            log.LogWarning("model provider unreachable: {Error}", e.Message);
            return new(null, Error(502, "Could not reach the model provider."));
        }
        finally { request.Dispose(); }

        if (response.IsSuccessStatusCode) return new(ProviderDialect.ReadAnswer(Upstream, response, body, stream), null);
        using (response)
        {
            string text;
            using var readTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { text = await response.Content.ReadAsStringAsync(readTimeout.Token); }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException) { text = ""; }
            return new(null, Results.Json(MapUpstreamError((int)response.StatusCode, response.ReasonPhrase, text), statusCode: (int)response.StatusCode));
        }
    }

    /// <summary>One non-streaming call: the provider's JSON answer or the error the client gets.</summary>
    public async Task<(JsonObject? Json, IResult? Error)> ReadCompletionAsync(JsonObject body, ProxyCall call)
    {
        using var upstream = await SendAsync(body, call, stream: false);
        if (upstream.Error is not null) return (null, upstream.Error);
        string text;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(Upstream.IdleTimeoutSeconds));
            text = await upstream.Response!.Content.ReadAsStringAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            return (null, Error(502, "The model provider did not finish its response."));
        }
        return Parse(text) is JsonObject json ? (json, null) : (null, Error(502, "The model provider sent a response that is not JSON."));
    }

    static IResult Error(int code, string message) => Results.Json(new { error = new { message, code } }, statusCode: code);

    /// <summary>The provider's error, re-shaped as api.md §2.5.3 step 10 describes.</summary>
    public static JsonObject MapUpstreamError(int status, string? reason, string text)
    {
        if (Parse(text)?["error"] is JsonObject error)
        {
            var message = Str(error["message"]) ?? (text.Length > 0 ? text : reason ?? "Upstream error");
            var metadata = new JsonObject();
            if (error["metadata"] is JsonObject md)
            {
                var provider = Str(md["provider_name"]);
                if (provider is not null) metadata["provider_name"] = provider;
                if (md["raw"] is { } raw)
                {
                    metadata["raw"] = raw.DeepClone();
                    var rawText = raw is JsonValue rv && rv.TryGetValue<string>(out var rs) ? rs : raw.ToJsonString();
                    if (rawText.Length > 1000) rawText = rawText[..1000] + "...";
                    message += $" [{provider ?? "Provider details"}: {rawText}]";
                }
            }
            return new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["message"] = message, ["code"] = error["code"]?.DeepClone(), ["type"] = error["type"]?.DeepClone(),
                    ["param"] = error["param"]?.DeepClone(), ["metadata"] = metadata,
                },
            };
        }
        return new JsonObject { ["error"] = new JsonObject { ["message"] = text.Length > 0 ? text : reason ?? "Upstream error", ["code"] = status } };
    }
}
