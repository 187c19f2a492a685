using System.Text;
using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat.Anthropic;

/// <summary>
/// A Messages API answer in OpenAI's completion shape. The answer names the model the client asked for, since our
/// price table (<see cref="CreditPricing"/>) knows that id; Anthropic reports no cost, so the call is priced from it.
/// </summary>
public static class AnthropicResponse
{
    public static JsonObject ToCompletion(JsonObject message, string requestedModel, long created)
    {
        var text = new StringBuilder();
        var reasoning = new StringBuilder();
        var details = new JsonArray();
        var toolCalls = new JsonArray();
        foreach (var block in (message["content"] as JsonArray ?? []).OfType<JsonObject>())
        {
            switch (Str(block["type"]))
            {
                case "text": text.Append(Str(block["text"])); break;
                case "thinking":
                    reasoning.Append(Str(block["thinking"]));
                    details.Add(ReasoningDetail(Str(block["thinking"]), Str(block["signature"]), details.Count));
                    break;
                case "redacted_thinking":
                    details.Add(new JsonObject { ["type"] = "reasoning.encrypted", ["data"] = Str(block["data"]), ["format"] = Format, ["index"] = details.Count });
                    break;
                case "tool_use":
                    toolCalls.Add(new JsonObject
                    {
                        ["id"] = Str(block["id"]), ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = Str(block["name"]), ["arguments"] = (block["input"] ?? new JsonObject()).ToJsonString(Compact) },
                    });
                    break;
            }
        }
        var reply = new JsonObject { ["role"] = "assistant", ["content"] = text.Length > 0 || toolCalls.Count == 0 ? text.ToString() : null };
        if (reasoning.Length > 0) reply["reasoning"] = reasoning.ToString();
        if (details.Count > 0) reply["reasoning_details"] = details;
        if (toolCalls.Count > 0) reply["tool_calls"] = toolCalls;
        return new JsonObject
        {
            ["id"] = Str(message["id"]), ["object"] = "chat.completion", ["created"] = created, ["model"] = requestedModel,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = reply, ["finish_reason"] = FinishReason(Str(message["stop_reason"])) }),
            ["usage"] = Usage(message["usage"] as JsonObject),
        };
    }

    /// <summary>OpenRouter's name for Anthropic's signed thinking, so a client that sends it back keeps it signed.</summary>
    public const string Format = "anthropic-claude-v1";

    public static JsonObject ReasoningDetail(string? text, string? signature, int index)
    {
        var detail = new JsonObject { ["type"] = "reasoning.text", ["text"] = text ?? "", ["format"] = Format, ["index"] = index };
        if (signature is not null) detail["signature"] = signature;
        return detail;
    }

    /// <summary>
    /// Anthropic's usage in OpenAI's shape. Anthropic's input_tokens excludes the cache reads and writes; OpenAI's
    /// prompt_tokens includes both, with the reads as cached_tokens and the writes as cache_write_tokens (OpenRouter's name).
    /// </summary>
    public static JsonObject Usage(JsonObject? usage)
    {
        var input = Int(usage?["input_tokens"]);
        var read = Int(usage?["cache_read_input_tokens"]);
        var write = Int(usage?["cache_creation_input_tokens"]);
        var output = Int(usage?["output_tokens"]);
        var prompt = input + read + write;
        return new JsonObject
        {
            ["prompt_tokens"] = prompt, ["completion_tokens"] = output, ["total_tokens"] = prompt + output,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = read, ["cache_write_tokens"] = write },
        };
    }

    /// <summary>Anthropic's stop_reason as OpenAI's finish_reason.</summary>
    public static string? FinishReason(string? stopReason) => stopReason switch
    {
        null => null,
        "tool_use" => "tool_calls",
        "max_tokens" or "model_context_window_exceeded" => "length",
        "refusal" => "content_filter",
        _ => "stop", // end_turn, stop_sequence, pause_turn
    };

    static int Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) && d > 0 ? (int)Math.Min(d, int.MaxValue) : 0;
}
