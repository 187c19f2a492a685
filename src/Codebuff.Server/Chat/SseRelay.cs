using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat;

/// <summary>
/// Relays a streamed completion line by line as it arrives; ordinary chunks are only scanned
/// (<see cref="ContentChunk"/>), and only the usage chunk is parsed and re-serialised (api.md §2.5.4). Heartbeats while the provider is silent, an idle timeout, and an error event when
/// the provider stops early; the call is billed once, when the usage chunk passes (or from an estimate).
/// </summary>
public sealed class SseRelay(ProviderClient provider, ChatProxy proxy, IOptions<ChatOptions> chatOptions, TimeProvider clock, ILogger<SseRelay> log)
{
    enum Outcome { Completed, Cut, Stalled }

    public async Task<IResult> StreamAsync(HttpContext context, JsonObject body, ProxyCall call)
    {
        using var upstream = await provider.SendAsync(body, call, stream: true);
        if (upstream.Error is not null) return upstream.Error;
        var response = upstream.Response!;

        var http = context.Response;
        http.StatusCode = 200;
        http.ContentType = "text/event-stream";
        http.Headers.CacheControl = "no-cache";
        http.Headers.AccessControlAllowOrigin = "*";
        if (context.Request.Protocol == "HTTP/1.1") http.Headers.Connection = "keep-alive";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var client = new ClientWriter(context, call, log);
        await client.WriteAsync($": connected {Now()}\n");

        var state = new CompletionAccumulator(call) { Request = body, Provider = upstream.Provider };
        var idleSeconds = provider.Upstream.IdleTimeoutSeconds;
        var idle = TimeSpan.FromSeconds(idleSeconds);
        var heartbeat = TimeSpan.FromSeconds(chatOptions.Value.HeartbeatSeconds);
        using var idleCts = new CancellationTokenSource(idle);
        Outcome outcome;
        PipeReader? reader = null;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(idleCts.Token);
            // Zero-byte reads: a stream waiting for the provider holds no buffer (a 4 KB one each otherwise, rented
            // before the read and kept while it waits: 4 MB at 1,000 streams; bench/README.md, memory).
            reader = PipeReader.Create(stream, ZeroByteReads);
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
                    if (client.SilentFor >= heartbeat) await client.WriteAsync($": heartbeat {Now()}\n\n");
                    continue;
                }
                var result = await pending;
                pending = null;
                call.Telemetry.FirstChunk();
                idleCts.CancelAfter(idle);
                var buffer = result.Buffer;
                // Complete lines only: a line cut off by the provider is never relayed half-written.
                while (TryReadLine(ref buffer, out var line)) await ProcessLineAsync(line, state, body, output);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (output.WrittenCount > 0)
                {
                    await client.WriteAsync(output.WrittenMemory);
                    output.ResetWrittenCount();
                }
                if (result.IsCompleted) { outcome = state.SawDone || state.Billed ? Outcome.Completed : Outcome.Cut; break; }
            }
        }
        catch (OperationCanceledException) when (idleCts.IsCancellationRequested) { outcome = Outcome.Stalled; }
        catch (Exception e) when (e is IOException or HttpRequestException) { outcome = Outcome.Cut; }
        finally
        {
            call.Telemetry.ProviderEnded();
            if (reader is not null) await reader.CompleteAsync();
        }

        if (outcome != Outcome.Completed && !state.Billed && !state.SawError)
        {
            // The provider stopped before reporting usage: bill our estimate of what it did produce (nothing, if it
            // produced nothing) and tell the client the answer is incomplete.
            if (state.Produced) await proxy.BillAsync(state, proxy.EstimateUsage(body, state));
            call.Telemetry.Failed(outcome == Outcome.Stalled ? "provider_stalled" : "provider_cut");
            var message = outcome == Outcome.Stalled
                ? $"The model provider sent nothing for {idleSeconds:0.#} s; the request was abandoned."
                : "The model provider closed the connection before the response was complete.";
            // The leading blank line ends any event the provider left open, so the error is an event of its own.
            await client.WriteAsync($"\ndata: {JsonSerializer.Serialize(new { error = new { message, type = "upstream_error", code = outcome == Outcome.Stalled ? 504 : 502 } })}\n\n");
        }
        else if (outcome != Outcome.Completed && state.Billed)
            log.LogWarning("stream for message {MessageId} ended abnormally after its usage report", state.ClientId);
        return Results.Empty;
    }

    static readonly StreamPipeReaderOptions ZeroByteReads = new(useZeroByteReads: true);

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
    async Task ProcessLineAsync(ReadOnlySequence<byte> line, CompletionAccumulator state, JsonObject body, ArrayBufferWriter<byte> output)
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
                var estimate = proxy.EstimateUsage(body, state);
                var billed = await proxy.BillAsync(state, estimate);
                var usage = new JsonObject { ["prompt_tokens"] = estimate.InputTokens, ["completion_tokens"] = estimate.OutputTokens, ["total_tokens"] = estimate.InputTokens + estimate.OutputTokens };
                ChatProxy.RewriteCost(usage, billed);
                var chunk = new JsonObject { ["id"] = state.ClientId, ["object"] = "chat.completion.chunk", ["model"] = state.Model, ["choices"] = new JsonArray(), ["usage"] = usage };
                Write($"data: {chunk.ToJsonString(Compact)}\n\n", output);
            }
            Pass(bytes, output);
            return;
        }
        if (ContentChunk.Read(payload) is { } plain)
        {
            state.ProviderId ??= plain.Id;
            if (plain.Model is { } plainModel) state.Model = plainModel;
            if (plain.HasDelta) state.AppendDelta(plain.Content, plain.Reasoning, plain.ToolCalls);
            state.AddFinishReason(plain.FinishReason);
            Pass(bytes, output);
            return;
        }
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(payload); }
        catch (JsonException) { parsed = null; }
        if (parsed is not JsonObject json) { Pass(bytes, output); return; }
        if (json.ContainsKey("error")) { state.SawError = true; Pass(bytes, output); return; }

        var rewrite = false;
        state.ProviderId ??= Str(json["id"]) ?? "";
        if (Str(json["id"]) is null) { json["id"] = state.ClientId; rewrite = true; }
        if (Str(json["model"]) is { } model) state.Model = model;
        state.AddFinishReason(Str(First(json["choices"])?["finish_reason"]));
        if (First(json["choices"])?["delta"] is JsonObject delta)
            state.AppendDelta(Str(delta["content"]), Str(delta["reasoning"]) ?? Str(delta["reasoning_content"]),
                ProviderJson.ToolCalls(delta["tool_calls"]));
        if (json["usage"] is JsonObject usageNode)
        {
            if (!state.Billed) await proxy.BillAsync(state, CallUsage.FromJson(usageNode, state.Model));
            ChatProxy.RewriteCost(usageNode, state.BilledCredits);
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

    string Now() => clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes to the client until it goes away; afterwards the relay keeps reading the provider silently.</summary>
    sealed class ClientWriter(HttpContext context, ProxyCall call, ILogger log)
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
