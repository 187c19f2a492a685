using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat;

/// <summary>The provider's answer to the forwarded request (and the provider's name), or the error result the client gets instead.</summary>
public sealed record UpstreamResponse(HttpResponseMessage? Response, IResult? Error, string? Provider = null) : IDisposable
{
    public void Dispose() => Response?.Dispose();
}

/// <summary>
/// Sends chat completions to the call's providers in order (<see cref="ProviderRoutes"/>) and maps their failures to
/// client errors. A connection failure, 429 or 5xx (for a non-streamed call also a body that breaks off) moves the call
/// to the next provider: nothing has reached the client yet, since the relay starts writing only once a provider has
/// answered 2xx.
/// </summary>
public sealed class ProviderClient(IHttpClientFactory httpFactory, IOptions<UpstreamOptions> upstreamOptions, ILogger<ProviderClient> log)
{
    public const string HttpClientName = "upstream-llm";

    public UpstreamOptions Upstream => upstreamOptions.Value;

    public async Task<UpstreamResponse> SendAsync(JsonObject body, ProxyCall call, bool stream)
    {
        call.Telemetry.ProviderStarted();
        for (var i = 0; ; i++)
        {
            var route = call.Routes[i];
            var (answer, retryable) = await TryAsync(body, route, stream);
            if (!retryable || i == call.Routes.Count - 1)
            {
                // A stream's provider time ends with its last byte (the relay says when); anything else is over here.
                if (answer.Error is not null || !stream) call.Telemetry.ProviderEnded();
                return answer;
            }
            log.LogWarning("model provider {Provider} failed for {Model}; trying {Next}", route.Provider.Name, call.Model, call.Routes[i + 1].Provider.Name);
            answer.Dispose();
        }
    }

    /// <summary>One provider's answer; retryable when another provider may be tried instead.</summary>
    async Task<(UpstreamResponse Answer, bool Retryable)> TryAsync(JsonObject body, ProviderRoute route, bool stream)
    {
        var provider = route.Provider;
        var request = ProviderDialect.CreateRequest(provider, body, stream, route.Key);

        HttpResponseMessage response;
        // Not the request's token: a client that hangs up must not stop the call it is going to be billed for.
        using var headerTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(Upstream.TimeoutSeconds));
        try
        {
            response = await httpFactory.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headerTimeout.Token);
        }
        catch (OperationCanceledException)
        {
            return (new(null, Error(504, $"The model provider did not answer within {Upstream.TimeoutSeconds:0.#} s.")), false);
        }
        catch (HttpRequestException e)
        {
            log.LogWarning("model provider {Provider} unreachable: {Error}", provider.Name, e.Message);
            return (new(null, Error(502, "Could not reach the model provider.")), true);
        }
        finally { request.Dispose(); }

        if (response.IsSuccessStatusCode && stream) return (new(ProviderDialect.ReadAnswer(provider, response, body, stream), null, provider.Name), false);
        if (response.IsSuccessStatusCode)
        {
            // A non-streamed answer is read whole before anything reaches the client, so one that breaks off is a
            // failure like any other; one that stalls for the idle timeout is not retried (it already took that long).
            using var idle = new CancellationTokenSource(TimeSpan.FromSeconds(Upstream.IdleTimeoutSeconds));
            try
            {
                await response.Content.LoadIntoBufferAsync(int.MaxValue, idle.Token);
                return (new(ProviderDialect.ReadAnswer(provider, response, body, stream), null, provider.Name), false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
                response.Dispose();
                log.LogWarning("model provider {Provider} did not finish its response: {Error}", provider.Name, e.Message);
                return (new(null, Error(502, "The model provider did not finish its response.")), e is not OperationCanceledException);
            }
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            if (route.StoredKeyType is { } keyType && status is 401 or 403)
                // The user's own key is wrong: said plainly, and never retried with the server's key.
                return (new(null, StoredKeyRejected(keyType, provider.Name, status)), false);
            string text;
            using var readTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { text = await response.Content.ReadAsStringAsync(readTimeout.Token); }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException) { text = ""; }
            return (new(null, Results.Json(MapUpstreamError(status, response.ReasonPhrase, text), statusCode: status)), status is 429 or >= 500);
        }
    }

    /// <summary>401 naming the stored key type the provider refused; the key itself is never echoed.</summary>
    static JsonHttpResult<ChatWire.StoredKeyRejected> StoredKeyRejected(string keyType, string provider, int status) => TypedResults.Json(
        new ChatWire.StoredKeyRejected(new(
            $"Your stored {keyType} API key was rejected by the model provider '{provider}' (HTTP {status}). " +
            $"Replace it (PUT /api/user/api-keys/{keyType}) or delete it to use the server's key.",
            "invalid_stored_key", "invalid_stored_key", keyType, provider)),
        statusCode: 401);

    /// <summary>One non-streaming call: the provider's JSON answer (and the provider's name) or the error the client gets.</summary>
    public async Task<(JsonObject? Json, IResult? Error, string? Provider)> ReadCompletionAsync(JsonObject body, ProxyCall call)
    {
        using var upstream = await SendAsync(body, call, stream: false);
        if (upstream.Error is not null) return (null, upstream.Error, null);
        // Buffered by SendAsync: reading it cannot fail any more.
        var text = await upstream.Response!.Content.ReadAsStringAsync();
        return Parse(text) is JsonObject json ? (json, null, upstream.Provider) : (null, Error(502, "The model provider sent a response that is not JSON."), null);
    }

    static JsonHttpResult<ChatWire.ProviderError> Error(int code, string message) => TypedResults.Json(new ChatWire.ProviderError(new(message, code)), statusCode: code);

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
