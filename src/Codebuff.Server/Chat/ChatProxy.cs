using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tools;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Chat;

/// <summary>Who is calling and how the call is billed; fixed before the provider is contacted.</summary>
public sealed record ProxyCall(string UserId, string RunId, string AgentId, string Model, string? ClientId, string? ByokKey, bool FreeMode, DateTime StartedAt, int N = 1,
    OrgBilling.Payer? Org = null)
{
    public bool Byok => ByokKey is not null;
}

/// <summary>
/// Forwards a chat completion to the provider and bills it once. Streams are relayed line by line as they arrive;
/// only a copy is parsed, and only the usage chunk is re-serialised (api.md §2.5.4).
/// </summary>
public sealed class ChatProxy(IHttpClientFactory httpFactory, ChatBilling billing, TokenCounter tokens, IOptions<UpstreamOptions> upstreamOptions,
    IOptions<ChatOptions> chatOptions, ILogger<ChatProxy> log)
{
    public const string HttpClientName = "upstream-llm";
    static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    UpstreamOptions Upstream => upstreamOptions.Value;

    public async Task<IResult> StreamAsync(HttpContext context, JsonObject body, ProxyCall call)
    {
        using var upstream = await SendAsync(body, call, stream: true);
        if (upstream.Error is not null) return upstream.Error;
        var response = upstream.Response!;

        var http = context.Response;
        http.StatusCode = 200;
        http.ContentType = "text/event-stream";
        http.Headers.CacheControl = "no-cache";
        http.Headers.AccessControlAllowOrigin = "*";
        if (context.Request.Protocol == "HTTP/1.1") http.Headers.Connection = "keep-alive";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var relay = new StreamRelay(context, call, log);
        await relay.WriteAsync($": connected {Now()}\n");

        var state = new CallState(call) { RequestBody = body };
        var idle = TimeSpan.FromSeconds(Upstream.IdleTimeoutSeconds);
        var heartbeat = TimeSpan.FromSeconds(chatOptions.Value.HeartbeatSeconds);
        using var idleCts = new CancellationTokenSource(idle);
        Outcome outcome;
        PipeReader? reader = null;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(idleCts.Token);
            reader = PipeReader.Create(stream);
            var output = new ArrayBufferWriter<byte>();
            Task<ReadResult>? pending = null;
            Task? beat = null;
            while (true)
            {
                pending ??= reader.ReadAsync(idleCts.Token).AsTask();
                beat ??= Task.Delay(heartbeat);
                if (await Task.WhenAny(pending, beat) == beat)
                {
                    beat = null;
                    if (relay.SilentFor >= heartbeat) await relay.WriteAsync($": heartbeat {Now()}\n\n");
                    continue;
                }
                var result = await pending;
                pending = null;
                idleCts.CancelAfter(idle);
                var buffer = result.Buffer;
                // Complete lines only: a line cut off by the provider is never relayed half-written.
                while (TryReadLine(ref buffer, out var line)) await ProcessLineAsync(line, state, output);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (output.WrittenCount > 0)
                {
                    await relay.WriteAsync(output.WrittenMemory);
                    output.ResetWrittenCount();
                }
                if (result.IsCompleted) { outcome = state.SawDone || state.Billed ? Outcome.Completed : Outcome.Cut; break; }
            }
        }
        catch (OperationCanceledException) when (idleCts.IsCancellationRequested) { outcome = Outcome.Stalled; }
        catch (Exception e) when (e is IOException or HttpRequestException) { outcome = Outcome.Cut; }
        finally
        {
            if (reader is not null) await reader.CompleteAsync();
        }

        if (outcome != Outcome.Completed && !state.Billed && !state.SawError)
        {
            // The provider stopped before reporting usage: bill our estimate of what it did produce (nothing, if it
            // produced nothing) and tell the client the answer is incomplete.
            if (state.Produced) await BillAsync(state, EstimateUsage(body, state));
            var message = outcome == Outcome.Stalled
                ? $"The model provider sent nothing for {Upstream.IdleTimeoutSeconds:0.#} s; the request was abandoned."
                : "The model provider closed the connection before the response was complete.";
            // The leading blank line ends any event the provider left open, so the error is an event of its own.
            await relay.WriteAsync($"\ndata: {JsonSerializer.Serialize(new { error = new { message, type = "upstream_error", code = outcome == Outcome.Stalled ? 504 : 502 } })}\n\n");
        }
        else if (outcome != Outcome.Completed && state.Billed)
            log.LogWarning("stream for message {MessageId} ended abnormally after its usage report", state.Id);
        return Results.Empty;
    }

    public async Task<IResult> CompleteAsync(JsonObject body, ProxyCall call)
    {
        if (call.N > 1) return await FanOutAsync(body, call);
        var (json, error) = await ReadCompletionAsync(body, call);
        if (json is null) return error!;

        var state = StateFor(json, call);
        var message = First(json["choices"])?["message"];
        state.AppendContent(Str(message?["content"]));
        state.AppendReasoning(Str(message?["reasoning"]) ?? Str(message?["reasoning_content"]));
        if (message?["tool_calls"] is JsonArray calls) state.AppendToolArgs(calls.ToJsonString());

        var usage = json["usage"] is JsonObject u ? CallUsage.FromJson(u, state.Model) : EstimateUsage(body, state);
        var billed = await BillAsync(state, usage);
        if (json["usage"] is JsonObject reported) RewriteCost(reported, billed);
        return Results.Text(json.ToJsonString(Compact), "application/json", Encoding.UTF8);
    }

    /// <summary>
    /// codebuff_metadata.n &gt; 1 (api.md §2.5.6): n parallel calls answered as one, whose content is the JSON array of the
    /// answers' contents; billed once, for the summed usage, under the first answer's id.
    /// </summary>
    async Task<IResult> FanOutAsync(JsonObject body, ProxyCall call)
    {
        var results = await Task.WhenAll(Enumerable.Range(0, call.N).Select(_ => ReadCompletionAsync(body, call)));
        var answers = results.Where(r => r.Json is not null).Select(r => r.Json!).ToList();
        if (answers.Count == 0) return results[0].Error!;

        var first = answers[0];
        var state = StateFor(first, call);
        var contents = JsonSerializer.Serialize(answers.Select(a => Str(First(a["choices"])?["message"]?["content"]) ?? ""));
        state.AppendContent(contents);
        var usages = answers.Select(a =>
        {
            if (a["usage"] is JsonObject u) return CallUsage.FromJson(u, state.Model);
            var single = new CallState(call);
            single.AppendContent(Str(First(a["choices"])?["message"]?["content"]));
            return EstimateUsage(body, single);
        }).ToList();
        var reasoning = usages.Sum(u => u.ReasoningTokens ?? 0);
        var total = new CallUsage(usages.Sum(u => u.InputTokens), usages.Sum(u => u.OutputTokens), usages.Sum(u => u.CachedInputTokens),
            reasoning == 0 ? null : reasoning, usages.Sum(u => u.CostUsd), usages.Any(u => u.Estimated));
        var billed = await BillAsync(state, total);

        first["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = contents }, ["finish_reason"] = "stop",
        });
        var usage = new JsonObject { ["prompt_tokens"] = total.InputTokens, ["completion_tokens"] = total.OutputTokens, ["total_tokens"] = total.InputTokens + total.OutputTokens };
        RewriteCost(usage, billed);
        first["usage"] = usage;
        return Results.Text(first.ToJsonString(Compact), "application/json", Encoding.UTF8);
    }

    /// <summary>One non-streaming call: the provider's JSON answer (id guaranteed) or the error the client gets.</summary>
    async Task<(JsonObject? Json, IResult? Error)> ReadCompletionAsync(JsonObject body, ProxyCall call)
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
            return (null, Results.Json(new { error = new { message = "The model provider did not finish its response.", code = 502 } }, statusCode: 502));
        }
        if (ParseObject(text) is not JsonObject json)
            return (null, Results.Json(new { error = new { message = "The model provider sent a response that is not JSON.", code = 502 } }, statusCode: 502));
        if (Str(json["id"]) is not { Length: > 0 }) json["id"] = NewId();
        return (json, null);
    }

    static CallState StateFor(JsonObject json, ProxyCall call)
    {
        var state = new CallState(call) { Id = Str(json["id"]) };
        if (Str(json["model"]) is { } model) state.Model = model;
        return state;
    }

    enum Outcome { Completed, Cut, Stalled }

    /// <summary>The provider's answer to the forwarded request, or the error result the client gets instead.</summary>
    sealed record UpstreamResponse(HttpResponseMessage? Response, IResult? Error) : IDisposable
    {
        public void Dispose() => Response?.Dispose();
    }

    async Task<UpstreamResponse> SendAsync(JsonObject body, ProxyCall call, bool stream)
    {
        var forwarded = PrepareBody(body, stream);
        var request = new HttpRequestMessage(HttpMethod.Post, Upstream.BaseUrl.TrimEnd('/') + "/chat/completions")
        {
            Content = new StringContent(forwarded.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        var key = call.ByokKey ?? Upstream.ApiKey;
        if (!string.IsNullOrEmpty(key)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (stream) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));

        HttpResponseMessage response;
        // Not the request's token: a client that hangs up must not stop the call it is going to be billed for.
        using var headerTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(Upstream.TimeoutSeconds));
        try
        {
            response = await httpFactory.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headerTimeout.Token);
        }
        catch (OperationCanceledException)
        {
            return new(null, Results.Json(new { error = new { message = $"The model provider did not answer within {Upstream.TimeoutSeconds:0.#} s.", code = 504 } }, statusCode: 504));
        }
        catch (HttpRequestException e)
        {
            log.LogWarning("model provider unreachable: {Error}", e.Message);
            return new(null, Results.Json(new { error = new { message = "Could not reach the model provider.", code = 502 } }, statusCode: 502));
        }
        finally { request.Dispose(); }

        if (response.IsSuccessStatusCode) return new(response, null);
        using (response)
        {
            string text;
            using var readTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { text = await response.Content.ReadAsStringAsync(readTimeout.Token); }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException) { text = ""; }
            return new(null, Results.Json(MapUpstreamError((int)response.StatusCode, response.ReasonPhrase, text), statusCode: (int)response.StatusCode));
        }
    }

    /// <summary>The provider's error, re-shaped as api.md §2.5.3 step 10 describes.</summary>
    public static JsonObject MapUpstreamError(int status, string? reason, string text)
    {
        if (ParseObject(text)?["error"] is JsonObject error)
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

    /// <summary>
    /// OpenRouter gets Codebuff's body plus usage.include. Other providers get stream_options.include_usage (the SDK
    /// never asks for usage) and none of the Codebuff/OpenRouter extensions, which strict servers reject.
    /// </summary>
    JsonObject PrepareBody(JsonObject body, bool stream)
    {
        var copy = (JsonObject)body.DeepClone();
        if (Upstream.OpenRouter)
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

    static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null) { line = default; return false; }
        line = buffer.Slice(0, position.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }

    static ReadOnlySpan<byte> DataPrefix => "data:"u8;
    static ReadOnlySpan<byte> Done => "[DONE]"u8;

    /// <summary>
    /// Appends what the client gets for one upstream line (without its "\n"): the original bytes, except for the usage
    /// chunk (re-serialised with the billed cost) and chunks that need the stream's id.
    /// </summary>
    async Task ProcessLineAsync(ReadOnlySequence<byte> line, CallState state, ArrayBufferWriter<byte> output)
    {
        var bytes = line.IsSingleSegment ? line.FirstSpan.ToArray() : line.ToArray();
        if (!bytes.AsSpan().StartsWith(DataPrefix)) { Pass(bytes, output); return; }
        var payload = bytes.AsSpan(DataPrefix.Length).TrimStart((byte)' ').TrimEnd((byte)'\r');
        if (payload.SequenceEqual(Done))
        {
            state.SawDone = true;
            if (!state.Billed && !state.SawError && state.Produced)
            {
                // The provider finished without a usage report: bill our estimate and tell the client what it was.
                var estimate = EstimateUsage(state.RequestBody, state);
                var billed = await BillAsync(state, estimate);
                var chunk = new JsonObject
                {
                    ["id"] = state.Id, ["object"] = "chat.completion.chunk", ["model"] = state.Model, ["choices"] = new JsonArray(),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = estimate.InputTokens, ["completion_tokens"] = estimate.OutputTokens, ["total_tokens"] = estimate.InputTokens + estimate.OutputTokens },
                };
                RewriteCost((JsonObject)chunk["usage"]!, billed);
                Write($"data: {chunk.ToJsonString(Compact)}\n\n", output);
            }
            Pass(bytes, output);
            return;
        }
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(payload); }
        catch (JsonException) { parsed = null; }
        if (parsed is not JsonObject json) { Pass(bytes, output); return; }
        if (json.ContainsKey("error")) { state.SawError = true; Pass(bytes, output); return; }

        var rewrite = false;
        state.Id ??= Str(json["id"]) is { Length: > 0 } first ? first : NewId();
        if (Str(json["id"]) is null) { json["id"] = state.Id; rewrite = true; }
        if (Str(json["model"]) is { } model) state.Model = model;
        if (First(json["choices"])?["delta"] is JsonObject delta)
        {
            state.AppendContent(Str(delta["content"]));
            state.AppendReasoning(Str(delta["reasoning"]) ?? Str(delta["reasoning_content"]));
            if (delta["tool_calls"] is JsonArray calls)
                foreach (var call in calls) state.AppendToolArgs(Str(call?["function"]?["arguments"]) ?? Str(call?["function"]?["name"]));
        }
        if (json["usage"] is JsonObject usage)
        {
            if (!state.Billed) state.BilledCredits = await BillAsync(state, CallUsage.FromJson(usage, state.Model));
            RewriteCost(usage, state.BilledCredits);
            // The SDK drops a chunk without choices, and the usage with it.
            if (json["choices"] is not JsonArray) json["choices"] = new JsonArray();
            rewrite = true;
        }
        if (rewrite) Write($"data: {json.ToJsonString(Compact)}\n", output);
        else Pass(bytes, output);
    }

    static void Pass(byte[] line, ArrayBufferWriter<byte> output)
    {
        output.Write(line);
        output.Write("\n"u8);
    }

    static void Write(string text, ArrayBufferWriter<byte> output) => Encoding.UTF8.GetBytes(text, output);

    async Task<int> BillAsync(CallState state, CallUsage usage)
    {
        state.Billed = true;
        state.Id ??= NewId();
        var call = state.Call;
        state.BilledCredits = await billing.BillAsync(new BillableCall(state.Id, call.UserId, call.RunId, call.AgentId, call.ClientId, state.Model,
            state.Content.ToString(), state.Reasoning.ToString(), usage, call.Byok, call.FreeMode, call.StartedAt, call.Org));
        return state.BilledCredits;
    }

    /// <summary>Local token counts priced from the table, for a provider that produced output but no usage report.</summary>
    CallUsage EstimateUsage(JsonObject? body, CallState state)
    {
        var input = tokens.Count(body?["messages"]?.ToJsonString()) + tokens.Count(body?["tools"]?.ToJsonString());
        var output = tokens.Count(state.Content.ToString()) + tokens.Count(state.Reasoning.ToString()) + state.ToolArgTokens(tokens);
        return new CallUsage(input, output, 0, null, CreditPricing.PriceTokens(state.Model, input, 0, output), Estimated: true);
    }

    static void RewriteCost(JsonObject usage, int billedCredits)
    {
        usage["cost"] = CreditPricing.ReportedCost(billedCredits);
        usage["cost_details"] = new JsonObject { ["upstream_inference_cost"] = 0 };
    }

    static JsonNode? ParseObject(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return null; }
    }

    static JsonNode? First(JsonNode? node) => node is JsonArray { Count: > 0 } array ? array[0] : null;
    static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    static string NewId() => $"gen-{Guid.NewGuid():N}";
    static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What has been seen of one call so far.</summary>
    sealed class CallState(ProxyCall call)
    {
        public ProxyCall Call { get; } = call;
        public JsonObject? RequestBody { get; set; }
        public string? Id { get; set; }
        public string Model { get; set; } = call.Model;
        public StringBuilder Content { get; } = new();
        public StringBuilder Reasoning { get; } = new();
        readonly StringBuilder _toolArgs = new();
        public bool SawDone { get; set; }
        public bool SawError { get; set; }
        public bool Billed { get; set; }
        public int BilledCredits { get; set; }
        public bool Produced => Content.Length > 0 || Reasoning.Length > 0 || _toolArgs.Length > 0;

        public void AppendContent(string? s) => Append(Content, s);
        public void AppendReasoning(string? s) => Append(Reasoning, s);
        public void AppendToolArgs(string? s) => Append(_toolArgs, s);
        public int ToolArgTokens(TokenCounter counter) => counter.Count(_toolArgs.ToString());

        // Keep one character past the cap so that ChatBilling.Cap can tell a cut text from one of exactly 1 MiB.
        static void Append(StringBuilder sb, string? s)
        {
            if (string.IsNullOrEmpty(s) || sb.Length > ChatBilling.TextCap) return;
            sb.Append(s.AsSpan(0, Math.Min(s.Length, ChatBilling.TextCap + 1 - sb.Length)));
        }
    }

    /// <summary>Writes to the client until it goes away; afterwards the relay keeps reading the provider silently.</summary>
    sealed class StreamRelay(HttpContext context, ProxyCall call, ILogger log)
    {
        long _lastWrite = Environment.TickCount64;
        bool _gone;

        public TimeSpan SilentFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastWrite);

        public Task WriteAsync(string text) => WriteAsync(Encoding.UTF8.GetBytes(text));

        public async Task WriteAsync(ReadOnlyMemory<byte> bytes)
        {
            _lastWrite = Environment.TickCount64;
            if (_gone) return;
            try
            {
                await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                _gone = true;
                log.LogInformation("client of run {RunId} disconnected; finishing the provider's stream to bill it", call.RunId);
            }
        }
    }
}
