using System.Text;
using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat.Anthropic;

/// <summary>
/// Anthropic's streamed events (message_start, content_block_start/delta/stop, message_delta, message_stop, ping,
/// error) as OpenAI chat.completion.chunk events, line by line: text deltas become content, thinking deltas
/// reasoning (their signatures OpenRouter's reasoning_details), tool_use blocks tool calls whose arguments stream as
/// input_json_delta arrives, the stop reason a finish_reason, and the usage a last chunk without choices before
/// [DONE] — which is the shape <see cref="SseRelay"/> bills from. A stream that ends without message_stop gets no
/// [DONE], so the relay sees it was cut.
/// </summary>
public sealed class AnthropicStreamTranslator(string requestedModel, long created)
{
    string _id = "";
    JsonObject _usage = new();
    readonly Dictionary<int, int> _toolIndexes = [];
    int _thinkingBlocks;
    readonly Dictionary<int, int> _thinkingIndexes = [];

    /// <summary>What the client gets for one line of Anthropic's stream (without its "\n"); empty for none.</summary>
    public string Line(string line)
    {
        if (!line.StartsWith("data:", StringComparison.Ordinal)) return "";
        if (Parse(line[5..].Trim()) is not JsonObject e) return "";
        switch (Str(e["type"]))
        {
            case "message_start":
                _id = Str(e["message"]?["id"]) ?? "";
                if (e["message"]?["usage"] is JsonObject started) _usage = (JsonObject)started.DeepClone();
                return Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" });
            case "content_block_start":
                return BlockStart(IntOf(e["index"]), e["content_block"] as JsonObject);
            case "content_block_delta":
                return BlockDelta(IntOf(e["index"]), e["delta"] as JsonObject);
            case "message_delta":
                // Its usage is cumulative and may restate the input counts: it wins over message_start's.
                if (e["usage"] is JsonObject later)
                    foreach (var (key, value) in later) if (value is not null) _usage[key] = value.DeepClone();
                return Str(e["delta"]?["stop_reason"]) is { } stop ? Chunk(new JsonObject(), AnthropicResponse.FinishReason(stop)) : "";
            case "message_stop":
                var usage = new JsonObject
                {
                    ["id"] = _id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = requestedModel,
                    ["choices"] = new JsonArray(), ["usage"] = AnthropicResponse.Usage(_usage),
                };
                return $"data: {usage.ToJsonString(Compact)}\n\ndata: [DONE]\n\n";
            case "ping":
                // Bytes on the wire, so the relay's idle timer sees the provider is alive.
                return ": ping\n\n";
            case "error":
                var error = new JsonObject
                {
                    ["message"] = Str(e["error"]?["message"]) ?? "The model provider reported an error.",
                    ["type"] = Str(e["error"]?["type"]) ?? "upstream_error", ["code"] = 502,
                };
                return $"data: {new JsonObject { ["error"] = error }.ToJsonString(Compact)}\n\n";
            default:
                return "";
        }
    }

    string BlockStart(int index, JsonObject? block)
    {
        switch (Str(block?["type"]))
        {
            case "text" when Str(block!["text"]) is { Length: > 0 } text:
                return Chunk(new JsonObject { ["content"] = text });
            case "thinking":
                _thinkingIndexes[index] = _thinkingBlocks++;
                return Str(block!["thinking"]) is { Length: > 0 } thought ? Chunk(new JsonObject { ["reasoning"] = thought }) : "";
            case "redacted_thinking":
                var detail = new JsonObject { ["type"] = "reasoning.encrypted", ["data"] = Str(block!["data"]), ["format"] = AnthropicResponse.Format, ["index"] = _thinkingBlocks++ };
                return Chunk(new JsonObject { ["reasoning_details"] = new JsonArray(detail) });
            case "tool_use":
                var toolIndex = _toolIndexes[index] = _toolIndexes.Count;
                var call = new JsonObject
                {
                    ["index"] = toolIndex, ["id"] = Str(block!["id"]), ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = Str(block["name"]), ["arguments"] = "" },
                };
                return Chunk(new JsonObject { ["tool_calls"] = new JsonArray(call) });
            default:
                return "";
        }
    }

    string BlockDelta(int index, JsonObject? delta)
    {
        switch (Str(delta?["type"]))
        {
            case "text_delta":
                return Chunk(new JsonObject { ["content"] = Str(delta!["text"]) ?? "" });
            case "thinking_delta":
                return Chunk(new JsonObject { ["reasoning"] = Str(delta!["thinking"]) ?? "" });
            case "signature_delta":
                var detail = AnthropicResponse.ReasoningDetail("", Str(delta!["signature"]), _thinkingIndexes.GetValueOrDefault(index));
                return Chunk(new JsonObject { ["reasoning_details"] = new JsonArray(detail) });
            case "input_json_delta" when _toolIndexes.TryGetValue(index, out var toolIndex):
                var part = new JsonObject { ["index"] = toolIndex, ["function"] = new JsonObject { ["arguments"] = Str(delta!["partial_json"]) ?? "" } };
                return Chunk(new JsonObject { ["tool_calls"] = new JsonArray(part) });
            default:
                return "";
        }
    }

    string Chunk(JsonObject delta, string? finishReason = null)
    {
        var chunk = new JsonObject
        {
            ["id"] = _id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = requestedModel,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
        };
        return $"data: {chunk.ToJsonString(Compact)}\n\n";
    }

    static int IntOf(JsonNode? n) => n is JsonValue v && v.TryGetValue<int>(out var i) ? i : -1;
}

/// <summary>The provider's response body read through an <see cref="AnthropicStreamTranslator"/>.</summary>
sealed class AnthropicEventStream(Stream inner, AnthropicStreamTranslator translator) : Stream
{
    readonly StreamReader _reader = new(inner, Encoding.UTF8);
    byte[] _pending = [];
    int _offset;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset >= _pending.Length)
        {
            var line = await _reader.ReadLineAsync(cancellationToken);
            if (line is null) return 0;
            var output = translator.Line(line);
            if (output.Length == 0) continue;
            _pending = Encoding.UTF8.GetBytes(output);
            _offset = 0;
        }
        var n = Math.Min(buffer.Length, _pending.Length - _offset);
        _pending.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _reader.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
