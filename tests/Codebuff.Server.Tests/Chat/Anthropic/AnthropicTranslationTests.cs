using Codebuff.Server.Chat;
using Codebuff.Server.Chat.Anthropic;

namespace Codebuff.Server.Tests.Chat.Anthropic;

/// <summary>The OpenAI → Messages API body and the event → chunk translation, without a server.</summary>
public sealed class AnthropicTranslationTests
{
    [Theory]
    [InlineData("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5")]
    [InlineData("anthropic/claude-opus-4.1", "claude-opus-4-1")]
    [InlineData("anthropic/claude-sonnet-4", "claude-sonnet-4-0")]
    [InlineData("anthropic/claude-3.7-sonnet", "claude-3-7-sonnet")]
    [InlineData("claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001")]
    public void OpenRouter_model_ids_become_the_APIs_aliases(string model, string expected) => Assert.Equal(expected, AnthropicRequest.Model(model));

    [Theory]
    [InlineData("claude-opus-4-1-20250805", "anthropic/claude-opus-4.1")]
    [InlineData("claude-opus-4-1", "anthropic/claude-opus-4.1")]
    [InlineData("anthropic/claude-opus-4-1", "anthropic/claude-opus-4.1")]
    [InlineData("anthropic/claude-opus-4.1", "anthropic/claude-opus-4.1")]
    [InlineData("claude-sonnet-4-0", "anthropic/claude-sonnet-4")]
    [InlineData("claude-haiku-4-5-20251001", "anthropic/claude-haiku-4.5")]
    [InlineData("openai/gpt-4o", "openai/gpt-4o")]
    public void Every_spelling_anthropic_serves_is_priced_as_the_tables_id(string model, string expected) => Assert.Equal(expected, CreditPricing.PriceId(model));

    [Fact]
    public void Images_stops_tool_choice_and_thinking_are_translated_and_sampling_is_dropped_while_thinking()
    {
        var body = JsonNode.Parse("""
            {"model":"anthropic/claude-sonnet-4.5","max_completion_tokens":10000,"temperature":0.3,"top_p":0.9,"stop":"END",
             "reasoning":{"effort":"medium"},"parallel_tool_calls":false,"tool_choice":{"type":"function","function":{"name":"f"}},
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],
             "messages":[{"role":"developer","content":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}]},
                         {"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}},
                                                   {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
                         {"role":"user","content":"and this"},
                         {"role":"assistant","content":""}]}
            """)!.AsObject();
        var sent = AnthropicRequest.Translate(body, stream: false);
        Assert.Equal("""
            {"model":"claude-sonnet-4-5","max_tokens":10000,"system":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},{"type":"text","text":"and this"}]}],"thinking":{"type":"enabled","budget_tokens":5000},"stop_sequences":["END"],"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}}
            """, sent.ToJsonString());

        // Without reasoning, sampling settings pass; a budget that does not fit below max_tokens turns thinking off.
        body["reasoning"] = new JsonObject { ["max_tokens"] = 20000 };
        sent = AnthropicRequest.Translate(body, stream: true);
        Assert.Null(sent["thinking"]);
        Assert.Equal((0.3, 0.9, true), ((double)sent["temperature"]!, (double)sent["top_p"]!, (bool)sent["stream"]!));
    }

    static List<JsonObject> Translate(params string[] events)
    {
        var translator = new AnthropicStreamTranslator("anthropic/claude-sonnet-4.5", 1730000000);
        var output = string.Concat(events.Select(e => translator.Line("data: " + e)));
        Assert.EndsWith("data: [DONE]\n\n", output);
        return ChatTestHelpers.DataChunks(output);
    }

    [Theory]
    [InlineData("max_tokens", "length")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("refusal", "content_filter")]
    [InlineData("end_turn", "stop")]
    public void Stop_reasons_become_finish_reasons_and_message_delta_usage_wins(string stopReason, string finishReason)
    {
        var chunks = Translate(
            """{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":7,"cache_read_input_tokens":3,"output_tokens":1}}}""",
            """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}""",
            """{"type":"content_block_stop","index":0}""",
            $$$"""{"type":"message_delta","delta":{"stop_reason":"{{{stopReason}}}"},"usage":{"output_tokens":9,"cache_creation_input_tokens":5}}""",
            """{"type":"message_stop"}""");
        Assert.Equal(finishReason, (string?)chunks[^2]["choices"]![0]!["finish_reason"]);
        Assert.Equal("""{"prompt_tokens":15,"completion_tokens":9,"total_tokens":24,"prompt_tokens_details":{"cached_tokens":3,"cache_write_tokens":5}}""",
            chunks[^1]["usage"]!.ToJsonString());
        var usage = CallUsage.FromJson(chunks[^1]["usage"]!.AsObject(), "anthropic/claude-sonnet-4.5");
        Assert.Equal((15, 3, 5, 9), (usage.InputTokens, usage.CachedInputTokens, usage.CacheWriteTokens, usage.OutputTokens));
        // 7 × 3 + 3 × 0.3 + 5 × 3 × 1.25 + 9 × 15 = 175.65 micro-dollars.
        Assert.Equal(0.00017565m, usage.CostUsd);
    }
}
