using System.Text.RegularExpressions;
using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat.Anthropic;

/// <summary>
/// An OpenAI chat completion body (as the SDK sends it, with OpenRouter's extensions) translated to the body of
/// Anthropic's Messages API (POST /v1/messages): system messages become <c>system</c>, tool calls become
/// <c>tool_use</c> blocks, tool results <c>tool_result</c> blocks of a user turn, consecutive turns of one role are
/// merged (the API wants them alternating), cache_control marks are kept, OpenRouter's <c>reasoning</c> becomes
/// <c>thinking</c>. Codebuff's and OpenRouter's own fields are dropped.
/// </summary>
public static partial class AnthropicRequest
{
    /// <summary>[our choice] Anthropic requires max_tokens; a body without one gets this.</summary>
    public const int DefaultMaxTokens = 8192;

    /// <summary>The least thinking budget the API accepts.</summary>
    const int MinThinkingBudget = 1024;

    public static JsonObject Translate(JsonObject body, bool stream)
    {
        var maxTokens = IntOf(body["max_completion_tokens"]) ?? IntOf(body["max_tokens"]) ?? DefaultMaxTokens;
        var result = new JsonObject { ["model"] = Model(Str(body["model"]) ?? ""), ["max_tokens"] = maxTokens };

        var system = new JsonArray();
        var messages = new JsonArray();
        foreach (var message in (body["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var role = Str(message["role"]);
            if (role is "system" or "developer") { foreach (var block in Blocks(message)) system.Add(block); continue; }
            var (anthropicRole, blocks) = role switch
            {
                "assistant" => ("assistant", AssistantBlocks(message)),
                "tool" => ("user", [ToolResult(message)]),
                _ => ("user", Blocks(message)),
            };
            if (blocks.Count == 0) continue;
            if (messages.Count > 0 && Str(messages[^1]!["role"]) == anthropicRole)
                foreach (var block in blocks) ((JsonArray)messages[^1]!["content"]!).Add(block);
            else
                messages.Add(new JsonObject { ["role"] = anthropicRole, ["content"] = new JsonArray([.. blocks]) });
        }
        if (system.Count > 0) result["system"] = system;
        result["messages"] = messages;

        var thinking = Thinking(body["reasoning"], maxTokens);
        if (thinking is not null) result["thinking"] = thinking;
        // The API refuses temperature and top_p other than their defaults while thinking.
        else
        {
            if (body["temperature"] is JsonValue t) result["temperature"] = t.DeepClone();
            if (body["top_p"] is JsonValue p) result["top_p"] = p.DeepClone();
        }
        if (body["top_k"] is JsonValue k) result["top_k"] = k.DeepClone();
        switch (body["stop"])
        {
            case JsonValue s when Str(s) is { } one: result["stop_sequences"] = new JsonArray(one); break;
            case JsonArray many: result["stop_sequences"] = many.DeepClone(); break;
        }
        if (body["tools"] is JsonArray { Count: > 0 } tools)
        {
            result["tools"] = new JsonArray([.. tools.OfType<JsonObject>().Select(Tool)]);
            if (ToolChoice(body["tool_choice"], body["parallel_tool_calls"]) is { } choice) result["tool_choice"] = choice;
        }
        if (stream) result["stream"] = true;
        return result;
    }

    /// <summary>
    /// [our choice] OpenRouter's ids name Anthropic's models with a vendor prefix and dotted versions
    /// ("anthropic/claude-sonnet-4.5"); the Messages API's aliases use dashes ("claude-sonnet-4-5") and need a minor
    /// version ("claude-sonnet-4" is "claude-sonnet-4-0"). Native ids pass unchanged.
    /// </summary>
    public static string Model(string model)
    {
        var name = model.StartsWith("anthropic/", StringComparison.OrdinalIgnoreCase) ? model["anthropic/".Length..] : model;
        name = DottedVersion().Replace(name, "$1-$2");
        return MajorOnly().IsMatch(name) ? name + "-0" : name;
    }

    [GeneratedRegex(@"(\d)\.(\d)")]
    private static partial Regex DottedVersion();

    [GeneratedRegex(@"^claude-(opus|sonnet|haiku)-\d+$")]
    private static partial Regex MajorOnly();

    /// <summary>A message's content as Anthropic blocks; a message-level cache_control marks its last block.</summary>
    static List<JsonNode> Blocks(JsonObject message)
    {
        var blocks = new List<JsonNode>();
        switch (message["content"])
        {
            case JsonValue v when Str(v) is { Length: > 0 } text:
                blocks.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                break;
            case JsonArray parts:
                foreach (var part in parts.OfType<JsonObject>())
                {
                    JsonObject? block = Str(part["type"]) switch
                    {
                        "text" when Str(part["text"]) is { Length: > 0 } text => new JsonObject { ["type"] = "text", ["text"] = text },
                        "image_url" => Image(Str(part["image_url"]?["url"]) ?? Str(part["image_url"])),
                        _ => null,
                    };
                    if (block is null) continue;
                    if (part["cache_control"] is JsonObject cc) block["cache_control"] = cc.DeepClone();
                    blocks.Add(block);
                }
                break;
        }
        if (message["cache_control"] is JsonObject mark && blocks.Count > 0) blocks[^1]["cache_control"] = mark.DeepClone();
        return blocks;
    }

    static JsonObject? Image(string? url)
    {
        if (string.IsNullOrEmpty(url)) return null;
        var data = DataUrl().Match(url);
        var source = data.Success
            ? new JsonObject { ["type"] = "base64", ["media_type"] = data.Groups[1].Value, ["data"] = url[data.Length..] }
            : new JsonObject { ["type"] = "url", ["url"] = url };
        return new JsonObject { ["type"] = "image", ["source"] = source };
    }

    [GeneratedRegex(@"^data:([^;,]+);base64,")]
    private static partial Regex DataUrl();

    /// <summary>
    /// An assistant turn: its signed thinking (OpenRouter's reasoning_details, which our stream reports; the API wants
    /// it back before tool results while thinking is on), its text, then its tool calls as tool_use blocks.
    /// </summary>
    static List<JsonNode> AssistantBlocks(JsonObject message)
    {
        var blocks = new List<JsonNode>();
        foreach (var detail in (message["reasoning_details"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (Str(detail["type"]) == "reasoning.text" && Str(detail["signature"]) is { Length: > 0 } signature)
                blocks.Add(new JsonObject { ["type"] = "thinking", ["thinking"] = Str(detail["text"]) ?? "", ["signature"] = signature });
            else if (Str(detail["type"]) == "reasoning.encrypted" && Str(detail["data"]) is { Length: > 0 } data)
                blocks.Add(new JsonObject { ["type"] = "redacted_thinking", ["data"] = data });
        }
        blocks.AddRange(Blocks(message));
        foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var arguments = Str(call["function"]?["arguments"]);
            var input = string.IsNullOrWhiteSpace(arguments) ? new JsonObject() : Parse(arguments) as JsonObject ?? new JsonObject();
            blocks.Add(new JsonObject
            {
                ["type"] = "tool_use", ["id"] = Str(call["id"]) ?? "", ["name"] = Str(call["function"]?["name"]) ?? "", ["input"] = input,
            });
        }
        return blocks;
    }

    static JsonObject ToolResult(JsonObject message)
    {
        var content = Blocks(message);
        var result = new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = Str(message["tool_call_id"]) ?? "" };
        // The mark goes on the tool_result block itself; its inner blocks keep none.
        JsonNode? mark = null;
        foreach (var block in content.OfType<JsonObject>()) { mark = block["cache_control"]?.DeepClone() ?? mark; block.Remove("cache_control"); }
        result["content"] = new JsonArray([.. content]);
        if (mark is not null) result["cache_control"] = mark;
        return result;
    }

    static JsonObject Tool(JsonObject tool)
    {
        var function = tool["function"] as JsonObject ?? tool;
        var result = new JsonObject
        {
            ["name"] = Str(function["name"]) ?? "",
            ["input_schema"] = function["parameters"] is JsonObject schema ? schema.DeepClone() : new JsonObject { ["type"] = "object" },
        };
        if (Str(function["description"]) is { } description) result["description"] = description;
        if (tool["cache_control"] is JsonObject cc) result["cache_control"] = cc.DeepClone();
        return result;
    }

    static JsonObject? ToolChoice(JsonNode? choice, JsonNode? parallel)
    {
        JsonObject? result = choice switch
        {
            JsonValue v when Str(v) == "auto" => new JsonObject { ["type"] = "auto" },
            JsonValue v when Str(v) == "required" => new JsonObject { ["type"] = "any" },
            JsonValue v when Str(v) == "none" => new JsonObject { ["type"] = "none" },
            JsonObject o when Str(o["function"]?["name"]) is { } name => new JsonObject { ["type"] = "tool", ["name"] = name },
            _ => null,
        };
        if (parallel is JsonValue p && p.TryGetValue<bool>(out var allowed) && !allowed)
        {
            result ??= new JsonObject { ["type"] = "auto" };
            if (Str(result["type"]) != "none") result["disable_parallel_tool_use"] = true;
        }
        return result;
    }

    /// <summary>
    /// OpenRouter's reasoning object as extended thinking: its max_tokens is the budget; an effort is a share of
    /// max_tokens (OpenRouter's: high 0.8, medium 0.5, low 0.2). None when disabled, or when the budget would not fit
    /// the API's bounds (at least 1,024 and below max_tokens).
    /// </summary>
    static JsonObject? Thinking(JsonNode? reasoning, int maxTokens)
    {
        if (reasoning is not JsonObject r) return null;
        if (r["enabled"] is JsonValue e && e.TryGetValue<bool>(out var enabled) && !enabled) return null;
        var budget = IntOf(r["max_tokens"]) ?? Str(r["effort"]) switch
        {
            "high" => (int?)(maxTokens * 0.8),
            "medium" => (int)(maxTokens * 0.5),
            "low" or "minimal" => (int)(maxTokens * 0.2),
            _ => r["enabled"] is JsonValue ? (int)(maxTokens * 0.5) : null,
        };
        if (budget is not { } b) return null;
        b = Math.Max(b, MinThinkingBudget);
        return b < maxTokens ? new JsonObject { ["type"] = "enabled", ["budget_tokens"] = b } : null;
    }

    static int? IntOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) && d >= 1 ? (int)Math.Min(d, int.MaxValue) : null;
}
