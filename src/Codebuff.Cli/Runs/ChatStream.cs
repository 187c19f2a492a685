using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Codebuff.Cli.Runs;

/// <summary>One streamed LLM answer: text, reasoning, tool calls, the message id and what it cost.</summary>
public sealed record ChatReply(string? MessageId, string Text, string Reasoning, IReadOnlyList<ChatToolCall> ToolCalls, decimal Credits);

public sealed record ChatToolCall(string Id, string Name, string Arguments);

/// <summary>
/// Reads the SSE answer of POST /api/v1/chat/completions (api.md §2.5.4): the first chunk's id is the message id the
/// step reports; deltas are forwarded as they come; the usage chunk's cost becomes credits by the SDK's own formula.
/// </summary>
public static class ChatStream
{
    const decimal ProfitMargin = 0.055m;

    public static async Task<ChatReply> ReadAsync(Stream body, Action<string> onText, Action<string> onReasoning, CancellationToken ct)
    {
        using var reader = new StreamReader(body, Encoding.UTF8);
        string? id = null;
        var text = new StringBuilder();
        var reasoning = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>();
        decimal credits = 0;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            var data = line[5..].Trim();
            if (data == "[DONE]") break;
            if (JsonNode.Parse(data) is not JsonObject chunk) continue;
            if (chunk["error"] is { } error)
                throw new CliException($"The model provider failed: {(error is JsonObject e ? (string?)e["message"] : error.ToString())}");
            id ??= (string?)chunk["id"];
            if (chunk["choices"] is JsonArray { Count: > 0 } choices && choices[0]?["delta"] is JsonObject delta)
            {
                if (Str(delta, "content") is { Length: > 0 } content) { text.Append(content); onText(content); }
                if ((Str(delta, "reasoning") ?? Str(delta, "reasoning_content")) is { Length: > 0 } thought) { reasoning.Append(thought); onReasoning(thought); }
                if (delta["tool_calls"] is JsonArray toolCalls)
                    foreach (var call in toolCalls.OfType<JsonObject>())
                    {
                        var index = (int?)call["index"] ?? 0;
                        if (!calls.TryGetValue(index, out var acc)) acc = ("", "", new StringBuilder());
                        var fn = call["function"] as JsonObject;
                        acc = (Str(call, "id") is { Length: > 0 } callId ? callId : acc.Id,
                            fn is not null && Str(fn, "name") is { Length: > 0 } name ? name : acc.Name, acc.Args);
                        if (fn is not null && Str(fn, "arguments") is { } args) acc.Args.Append(args);
                        calls[index] = acc;
                    }
            }
            if (chunk["usage"] is JsonObject usage)
            {
                var cost = Num(usage["cost"]) + Num((usage["cost_details"] as JsonObject)?["upstream_inference_cost"]);
                credits = Math.Round(cost * (1 + ProfitMargin) * 100, MidpointRounding.AwayFromZero);
            }
        }
        return new ChatReply(id, text.ToString(), reasoning.ToString(),
            calls.Values.Select((c, i) => new ChatToolCall(c.Id.Length > 0 ? c.Id : $"call_{i}", c.Name, c.Args.ToString())).ToArray(), credits);
    }

    static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    static decimal Num(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<decimal>() : 0;
}
