using Codebuff.Server.Chat;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Chat.Anthropic;

/// <summary>The server with Codebuff:Upstream:Kind=anthropic, pointed at a <see cref="FakeAnthropic"/>.</summary>
public sealed class AnthropicFixture : ServerFixture
{
    public FakeAnthropic Upstream { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:Kind"] = "anthropic";
        s["Codebuff:Upstream:BaseUrl"] = Upstream.BaseUrl;
        s["Codebuff:Upstream:ApiKey"] = "sk-ant-server-key";
        s["Codebuff:Upstream:TimeoutSeconds"] = "10";
        s["Codebuff:Upstream:IdleTimeoutSeconds"] = "5";
        return s;
    }

    public override async Task InitializeAsync()
    {
        await Upstream.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

public sealed class AnthropicProviderTests(AnthropicFixture server) : IClassFixture<AnthropicFixture>
{
    const string Model = "anthropic/claude-sonnet-4.5";

    /// <summary>
    /// <see cref="FakeAnthropic.Usage"/> priced from our table for claude-sonnet-4.5 ($3 / $0.30 / $15 per million):
    /// 10,000 × 3 + 200,000 × 0.3 + 100,000 × 3 × 1.25 (cache write) + 5,000 × 15 = $0.54 → round(54 × 1.055) = 57.
    /// </summary>
    const int Credits = 57;

    async Task<(TestUser User, HttpClient Client, string RunId)> SetUpAsync()
    {
        var user = await server.CreateUserAsync(10000);
        var client = server.ClientFor(user);
        var start = await client.PostAsync("/api/v1/agent-runs", new StringContent("""{"action":"START","agentId":"greeter","ancestorRunIds":[]}"""));
        start.EnsureSuccessStatusCode();
        return (user, client, (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!);
    }

    static JsonObject Body(string runId, string said, bool stream) => new()
    {
        ["model"] = Model, ["stream"] = stream, ["max_tokens"] = 32000,
        ["messages"] = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "You are terse." },
            new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = said, ["cache_control"] = new JsonObject { ["type"] = "ephemeral" } }),
            }),
        ["tools"] = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "read_files", ["description"] = "Reads files.", ["parameters"] = new JsonObject { ["type"] = "object" } },
        }),
        ["codebuff_metadata"] = new JsonObject { ["run_id"] = runId, ["client_id"] = "client-1", ["cost_mode"] = "normal" },
        ["provider"] = new JsonObject { ["allow_fallbacks"] = true },
        ["usage"] = new JsonObject { ["include"] = true },
    };

    static string Delta(List<JsonObject> chunks, string field) =>
        string.Concat(chunks.Select(c => (string?)c["choices"]!.AsArray().FirstOrDefault()?["delta"]?[field]));

    [Fact]
    public async Task A_stream_is_translated_from_anthropic_events_and_billed_once_from_our_price_table()
    {
        var (user, client, runId) = await SetUpAsync();
        var before = await server.BalanceAsync(user.Id);
        var response = await client.PostChatAsync(Body(runId, "hi", stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sse = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("data: [DONE]\n\n", sse);

        // What Anthropic was sent: its headers and the Messages API body, none of Codebuff's or OpenRouter's fields.
        var (apiKey, version, authorization, sent) = server.Upstream.Requests.Last(r => r.Body["stream"] is not null);
        Assert.Equal(("sk-ant-server-key", "2023-06-01", null), (apiKey, version, authorization));
        Assert.Equal("claude-sonnet-4-5", (string?)sent["model"]);
        Assert.Equal(32000, (int)sent["max_tokens"]!);
        Assert.Equal("""[{"type":"text","text":"You are terse."}]""", sent["system"]!.ToJsonString());
        Assert.Equal("""[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]""", sent["messages"]!.ToJsonString());
        Assert.Equal("""[{"name":"read_files","input_schema":{"type":"object"},"description":"Reads files."}]""", sent["tools"]!.ToJsonString());
        foreach (var dropped in new[] { "codebuff_metadata", "provider", "usage", "stream_options", "tool_choice" }) Assert.Null(sent[dropped]);

        var chunks = ChatTestHelpers.DataChunks(sse);
        var id = (string)chunks[0]["id"]!;
        Assert.StartsWith("msg_", id);
        Assert.All(chunks, c => Assert.Equal((id, "chat.completion.chunk", Model), ((string?)c["id"], (string?)c["object"], (string?)c["model"])));
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.Equal(FakeAnthropic.Text, Delta(chunks, "content"));
        Assert.Equal("stop", (string?)Assert.Single(chunks, c => c["choices"]!.AsArray().FirstOrDefault()?["finish_reason"] is not null)["choices"]![0]!["finish_reason"]);
        Assert.Contains("\n: ping\n", sse);

        var usageChunk = Assert.Single(chunks, c => c["usage"] is not null);
        Assert.Empty(usageChunk["choices"]!.AsArray());
        var usage = usageChunk["usage"]!;
        Assert.Equal((310000, 5000, 200000), ((int)usage["prompt_tokens"]!, (int)usage["completion_tokens"]!, (int)usage["prompt_tokens_details"]!["cached_tokens"]!));
        Assert.Equal(CreditPricing.ReportedCost(Credits), (double)usage["cost"]!, 12);

        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(id, message.Id);
        Assert.Equal((Credits, 310000, 200000, 100000, 5000), (message.Credits, message.InputTokens, message.CacheReadInputTokens, message.CacheCreationInputTokens, message.OutputTokens));
        Assert.Equal(0.54m, message.Cost);
        Assert.Equal(Model, message.Model);
        Assert.Equal($"\"{FakeAnthropic.Text}\"", message.Response);
        Assert.False(message.Byok);
        Assert.Equal(before - Credits, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Thinking_and_a_tool_call_with_streamed_arguments_come_through_as_reasoning_and_tool_calls()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(Body(runId, "use a tool", stream: true))).Content.ReadAsStringAsync();
        var chunks = ChatTestHelpers.DataChunks(sse);

        Assert.Equal(FakeAnthropic.Thinking, Delta(chunks, "reasoning"));
        Assert.Equal("Reading it.", Delta(chunks, "content"));
        var signed = Assert.Single(chunks, c => c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["reasoning_details"] is not null);
        Assert.Equal($$"""[{"type":"reasoning.text","text":"","format":"anthropic-claude-v1","index":0,"signature":"{{FakeAnthropic.Signature}}"}]""",
            signed["choices"]![0]!["delta"]!["reasoning_details"]!.ToJsonString());
        var calls = chunks.Select(c => c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["tool_calls"]).OfType<JsonArray>().Select(a => a[0]!).ToList();
        Assert.Equal("""{"index":0,"id":"toolu_01","type":"function","function":{"name":"read_files","arguments":""}}""", calls[0].ToJsonString());
        Assert.Equal(FakeAnthropic.ToolInput, string.Concat(calls.Select(c => (string?)c["function"]!["arguments"])));
        Assert.All(calls, c => Assert.Equal(0, (int)c["index"]!));
        Assert.Equal("tool_calls", (string?)chunks.Single(c => c["choices"]!.AsArray().FirstOrDefault()?["finish_reason"] is not null)["choices"]![0]!["finish_reason"]);

        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal((FakeAnthropic.Thinking, Credits), (message.ReasoningText, message.Credits));

        // The next turn sends the tool call and its result back: a tool_use block with the signed thinking before it, the
        // result as a tool_result block of a user turn.
        var next = Body(runId, "thanks", stream: false);
        var messages = next["messages"]!.AsArray();
        messages.Insert(1, new JsonObject { ["role"] = "user", ["content"] = "use a tool" });
        messages.Insert(2, new JsonObject
        {
            ["role"] = "assistant", ["content"] = "Reading it.",
            ["reasoning_details"] = new JsonArray(new JsonObject { ["type"] = "reasoning.text", ["text"] = FakeAnthropic.Thinking, ["signature"] = FakeAnthropic.Signature }),
            ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "toolu_01", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "read_files", ["arguments"] = FakeAnthropic.ToolInput } }),
        });
        messages.Insert(3, new JsonObject { ["role"] = "tool", ["tool_call_id"] = "toolu_01", ["content"] = "file body" });
        Assert.Equal(HttpStatusCode.OK, (await client.PostChatAsync(next)).StatusCode);
        var sent = server.Upstream.Requests.Last().Body["messages"]!;
        Assert.Equal($$$"""
            [{"role":"user","content":[{"type":"text","text":"use a tool"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"Let me think.","signature":"{{{FakeAnthropic.Signature}}}"},{"type":"text","text":"Reading it."},{"type":"tool_use","id":"toolu_01","name":"read_files","input":{"paths":["src/a.txt"]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"file body"}]},{"type":"text","text":"thanks","cache_control":{"type":"ephemeral"}}]}]
            """, sent.ToJsonString());
    }

    [Fact]
    public async Task A_json_answer_is_translated_and_billed_once()
    {
        var (user, client, runId) = await SetUpAsync();
        var before = await server.BalanceAsync(user.Id);
        var response = await client.PostChatAsync(Body(runId, "use a tool", stream: false));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Null(server.Upstream.Requests.Last().Body["stream"]);

        Assert.Equal(("chat.completion", Model), ((string?)json["object"], (string?)json["model"]));
        var choice = json["choices"]![0]!;
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        Assert.Equal("Reading it.", (string?)choice["message"]!["content"]);
        Assert.Equal(FakeAnthropic.Thinking, (string?)choice["message"]!["reasoning"]);
        var call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.Equal(("toolu_01", "function", "read_files", FakeAnthropic.ToolInput),
            ((string?)call["id"], (string?)call["type"], (string?)call["function"]!["name"], (string?)call["function"]!["arguments"]));
        Assert.Equal(CreditPricing.ReportedCost(Credits), (double)json["usage"]!["cost"]!, 12);

        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(((string?)json["id"], Credits, 100000), (message.Id, message.Credits, message.CacheCreationInputTokens));
        Assert.Equal(before - Credits, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_provider_error_is_relayed_and_charges_nothing()
    {
        var (user, client, runId) = await SetUpAsync();
        var before = await server.BalanceAsync(user.Id);
        foreach (var stream in new[] { true, false })
        {
            var response = await client.PostChatAsync(Body(runId, "overloaded", stream));
            Assert.Equal(529, (int)response.StatusCode);
            var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
            Assert.Equal(("Overloaded", "overloaded_error"), ((string?)error["message"], (string?)error["type"]));
        }
        // An error event in the middle of a stream reaches the client as an error chunk; nothing was produced, nothing billed.
        var sse = await (await client.PostChatAsync(Body(runId, "midstream", stream: true))).Content.ReadAsStringAsync();
        var last = ChatTestHelpers.DataChunks(sse)[^1];
        Assert.Equal("Overloaded", (string?)last["error"]!["message"]);

        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(before, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_callers_anthropic_key_is_used_as_byok_and_an_openrouter_key_is_not_sent_to_anthropic()
    {
        var (user, client, runId) = await SetUpAsync();
        var before = await server.BalanceAsync(user.Id);
        var byok = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions") { Content = JsonContent.Create(Body(runId, "hi", stream: false)) };
        byok.Headers.Add("x-anthropic-api-key", "sk-ant-callers-own");
        var answer = await client.SendAsync(byok);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("sk-ant-callers-own", server.Upstream.Requests.Last().ApiKey);
        Assert.Equal(0, (double)(await answer.Content.ReadFromJsonAsync<JsonObject>())!["usage"]!["cost"]!);
        var row = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.True(row.Byok);
        Assert.Equal(before, await server.BalanceAsync(user.Id));

        var openRouter = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions") { Content = JsonContent.Create(Body(runId, "hi", stream: false)) };
        openRouter.Headers.Add("x-openrouter-api-key", "sk-or-v1-callers");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(openRouter)).StatusCode);
        Assert.Equal("sk-ant-server-key", server.Upstream.Requests.Last().ApiKey);
        Assert.Equal(before - Credits, await server.BalanceAsync(user.Id));
    }

    /// <summary>
    /// Anthropic serves a dated native id as the real model: it is priced as our table's anthropic/claude-opus-4.1
    /// ($15 / $1.50 / $75 per million), not at the default (Sonnet's) price: 10,000 × 15 + 200,000 × 1.5
    /// + 100,000 × 15 × 1.25 + 5,000 × 75 = $2.70 → round(270 × 1.055) = 285.
    /// </summary>
    [Fact]
    public async Task A_dated_native_opus_id_is_billed_at_the_opus_price()
    {
        var (user, client, runId) = await SetUpAsync();
        var before = await server.BalanceAsync(user.Id);
        var body = Body(runId, "hi", stream: false);
        body["model"] = "claude-opus-4-1-20250805";
        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("claude-opus-4-1-20250805", (string?)server.Upstream.Requests.Last().Body["model"]);
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal((285, 2.70m), (message.Credits, message.Cost));
        Assert.Equal(before - 285, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task An_anthropic_model_our_price_table_does_not_know_is_refused_before_it_is_sent()
    {
        var (user, client, runId) = await SetUpAsync();
        var sent = server.Upstream.Requests.Count;
        var body = Body(runId, "hi", stream: false);
        body["model"] = "claude-mystery-9-20300101";
        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal(("model_not_found", "model"), ((string?)error["code"], (string?)error["param"]));
        Assert.Contains("claude-mystery-9-20300101", (string?)error["message"]);
        Assert.Equal(sent, server.Upstream.Requests.Count);
        Assert.Empty(await server.MessagesAsync(user.Id));
    }
}
