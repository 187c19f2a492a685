using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Chat;

public sealed class ChatCompletionTests(ChatFixture server) : IClassFixture<ChatFixture>
{
    async Task<(Infrastructure.TestUser User, HttpClient Client, string RunId)> SetUpAsync(int? credits = 1000, string agentId = "greeter")
    {
        var user = await server.CreateUserAsync(credits);
        var client = server.ClientFor(user);
        return (user, client, await server.StartRunAsync(client, agentId));
    }

    [Fact]
    public async Task Streams_through_rewrites_the_usage_chunk_and_bills_once_with_every_message_column()
    {
        var (user, client, runId) = await SetUpAsync();
        var response = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var sse = await response.Content.ReadAsStringAsync();

        Assert.StartsWith(": connected ", sse);
        Assert.Contains("\n: OPENROUTER PROCESSING\n", sse);
        Assert.EndsWith("data: [DONE]\n\n", sse);
        var chunks = ChatTestHelpers.DataChunks(sse);
        var id = (string)chunks[0]["id"]!;
        Assert.All(chunks, c => Assert.Equal(id, (string?)c["id"]));
        Assert.Equal("Hello from the fake provider.", string.Concat(chunks.Select(c => (string?)c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"])));
        // Content chunks are relayed byte for byte, exactly as the provider serialised them (id last, no spaces).
        Assert.Contains($$"""

            data: {"object":"chat.completion.chunk","created":1730000000,"model":"test/model-reported","choices":[{"index":0,"delta":{"content":"Hello "},"finish_reason":null}],"id":"{{id}}"}


            """.ReplaceLineEndings("\n"), sse);

        // The usage chunk: choices stays [], cost says what was billed (1 credit for $0.0123), inference cost zeroed.
        var usageChunk = Assert.Single(chunks, c => c["usage"] is not null);
        Assert.Same(usageChunk, chunks[^1]);
        Assert.Empty(usageChunk["choices"]!.AsArray());
        var usage = usageChunk["usage"]!;
        Assert.Equal(1 / 105.5, (double)usage["cost"]!, 12);
        Assert.Equal(0, (int)usage["cost_details"]!["upstream_inference_cost"]!);
        Assert.Equal(1000, (int)usage["prompt_tokens"]!);
        Assert.Equal(1, (int)Math.Round((double)usage["cost"]! * 1.055 * 100));

        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(id, message.Id);
        Assert.Equal("client-1", message.ClientId);
        Assert.Equal(runId, message.ClientRequestId);
        Assert.Equal("test/model-reported", message.Model);
        Assert.Equal("greeter", message.AgentId);
        Assert.Null(message.Request);
        Assert.Null(message.LastMessage);
        Assert.Equal("Let me think. ", message.ReasoningText);
        Assert.Equal("\"Hello from the fake provider.\"", message.Response);
        Assert.Equal((1000, 200, 100, 50), (message.InputTokens, message.OutputTokens, message.CacheReadInputTokens, message.ReasoningTokens));
        Assert.Null(message.CacheCreationInputTokens);
        Assert.Equal(0.0123m, message.Cost);
        Assert.Equal(1, message.Credits);
        Assert.False(message.Byok);
        Assert.NotNull(message.LatencyMs);
        Assert.True(message.LatencyMs >= 0);
        Assert.Null(message.OrgId);
        // Codebuff:Upstream alone is a one-provider list named "upstream".
        Assert.Equal("upstream", await server.ProviderOfAsync(message.Id));
        Assert.Equal(999, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task The_usage_chunk_always_carries_a_choices_array_even_when_the_provider_left_it_out()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/nochoices", runId))).Content.ReadAsStringAsync();
        var usageChunk = ChatTestHelpers.DataChunks(sse).Single(c => c["usage"] is not null);
        Assert.Equal("[]", usageChunk["choices"]?.ToJsonString());
        Assert.Single(await server.MessagesAsync(user.Id));
    }

    [Fact]
    public async Task The_cost_rewrite_makes_the_sdk_formula_reproduce_the_billed_credits()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/splitcost", runId))).Content.ReadAsStringAsync();
        var usage = ChatTestHelpers.DataChunks(sse)[^1]["usage"]!;
        // Billed: round((0.40 + 0.10) × 105.5) = 53. The SDK adds upstream_inference_cost, so it must come back as 0.
        var cost = (double)usage["cost"]!;
        var upstream = (double)usage["cost_details"]!["upstream_inference_cost"]!;
        Assert.Equal(0, upstream);
        Assert.Equal(53, (int)Math.Round((cost + upstream) * 1.055 * 100));
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal((53, 0.5m), (message.Credits, message.Cost));
        Assert.Equal(1000 - 53, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Forwards_a_plain_OpenAI_body_asking_for_usage_and_uses_the_server_key()
    {
        var (_, client, runId) = await SetUpAsync();
        var model = $"test/forward-{Guid.NewGuid():N}";
        (await client.PostChatAsync(ChatFixture.ChatBody(model, runId))).EnsureSuccessStatusCode();
        var (auth, body) = server.Upstream.Requests.Single(r => (string?)r.Body["model"] == model);
        Assert.Equal("Bearer server-provider-key", auth);
        Assert.True((bool)body["stream_options"]!["include_usage"]!);
        Assert.Null(body["codebuff_metadata"]);
        Assert.Null(body["provider"]);
        Assert.Null(body["messages"]![0]!["content"]![0]!["cache_control"]);
        Assert.Equal(32000, (int)body["max_tokens"]!);
    }

    [Fact]
    public async Task Non_streaming_answer_gets_the_billed_cost_and_one_message_row()
    {
        var (user, client, runId) = await SetUpAsync();
        var response = await client.PostChatAsync(ChatFixture.ChatBody("test/pricey", runId, stream: false));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("Hello there", (string?)json["choices"]![0]!["message"]!["content"]);
        Assert.Equal(53 / 105.5, (double)json["usage"]!["cost"]!, 12);
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal((string?)json["id"], message.Id);
        Assert.Equal((53, 0.5m, "\"Hello there\"", "thinking"), (message.Credits, message.Cost, message.Response, message.ReasoningText));
        Assert.Equal(1000 - 53, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Fan_out_n_answers_as_one_billed_once_for_the_summed_usage()
    {
        var (user, client, runId) = await SetUpAsync();
        var body = ChatFixture.ChatBody($"test/fanout-pricey-{Guid.NewGuid():N}", runId, stream: false);
        body["codebuff_metadata"]!["n"] = 3;
        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(3, server.Upstream.Requests.Count(r => (string?)r.Body["model"] == (string?)body["model"]));
        var content = (string)json["choices"]![0]!["message"]!["content"]!;
        Assert.Equal("""["Hello there","Hello there","Hello there"]""", content);
        Assert.Equal((3000, 600), ((int)json["usage"]!["prompt_tokens"]!, (int)json["usage"]!["completion_tokens"]!));
        // 3 × $0.50 = $1.50 → round(158.25) = 158 credits, reported back as 158 / 105.5.
        Assert.Equal(158 / 105.5, (double)json["usage"]!["cost"]!, 12);
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(((string?)json["id"], 158, 1.5m), (message.Id, message.Credits, message.Cost));
        Assert.Equal(content, JsonNode.Parse(message.Response)!.GetValue<string>());
        Assert.Equal(1000 - 158, await server.BalanceAsync(user.Id));

        body["codebuff_metadata"]!["n"] = 11;
        var tooMany = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Equal("""{"message":"codebuff_metadata.n must be an integer from 1 to 10"}""", await tooMany.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Usage_without_cost_is_priced_from_the_table()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/nocost", runId))).Content.ReadAsStringAsync();
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        // Unknown model → default $3 / $0.30 cached / $15 per million: 900×3 + 100×0.3 + 200×15 = 5730 µ$.
        Assert.Equal(0.00573m, message.Cost);
        Assert.Equal(1, message.Credits);
        Assert.Equal(1 / 105.5, (double)ChatTestHelpers.DataChunks(sse)[^1]["usage"]!["cost"]!, 12);
    }

    [Fact]
    public async Task A_stream_without_usage_is_billed_from_a_local_estimate_announced_before_DONE()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/nousage-pricey", runId))).Content.ReadAsStringAsync();
        var chunks = ChatTestHelpers.DataChunks(sse);
        var usage = chunks[^1]["usage"]!;
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(message.Credits, (int)Math.Round((double)usage["cost"]! * 105.5));
        Assert.Equal((int)usage["completion_tokens"]!, message.OutputTokens);
        Assert.True(message.OutputTokens > 0 && message.InputTokens > 0);
        Assert.EndsWith("data: [DONE]\n\n", sse);
    }

    [Fact]
    public async Task Chunks_without_ids_get_one_generated_id_that_is_also_the_message_id()
    {
        var (user, client, runId) = await SetUpAsync();
        var chunks = ChatTestHelpers.DataChunks(await (await client.PostChatAsync(ChatFixture.ChatBody("test/noid", runId))).Content.ReadAsStringAsync());
        var id = (string)chunks[0]["id"]!;
        Assert.StartsWith("gen-", id);
        Assert.All(chunks, c => Assert.Equal(id, (string?)c["id"]));
        Assert.Equal(id, Assert.Single(await server.MessagesAsync(user.Id)).Id);
    }

    [Fact]
    public async Task Upstream_error_keeps_its_status_and_bills_nothing()
    {
        var (user, client, runId) = await SetUpAsync();
        var response = await client.PostChatAsync(ChatFixture.ChatBody("test/error", runId));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal("fake provider failure [FakeAI: overloaded]", (string?)error["message"]);
        Assert.Equal(500, (int)error["code"]!);
        Assert.Equal("FakeAI", (string?)error["metadata"]!["provider_name"]);
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_cut_connection_ends_in_an_error_chunk_and_bills_only_what_was_produced()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/cut", runId))).Content.ReadAsStringAsync();
        Assert.DoesNotContain("half-writ", sse);
        Assert.EndsWith("\n\ndata: {\"error\":", sse[..(sse.LastIndexOf("{\"message\"", StringComparison.Ordinal) - 0)]);
        var last = ChatTestHelpers.DataChunks(sse)[^1];
        Assert.Contains("closed the connection", (string?)last["error"]!["message"]);
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal("\"Hello from \"", message.Response);
        // Two words and a reasoning sentence: a handful of output tokens, not the full answer's 200.
        Assert.InRange(message.OutputTokens, 1, 20);
        Assert.Equal(1000 - message.Credits, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_stalled_provider_gets_heartbeats_then_an_error_and_no_bill_beyond_its_output()
    {
        var (user, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/stall", runId))).Content.ReadAsStringAsync();
        Assert.Contains("\n: heartbeat ", sse);
        var last = ChatTestHelpers.DataChunks(sse)[^1];
        Assert.Contains("sent nothing for 1.5 s", (string?)last["error"]!["message"]);
        Assert.Equal(504, (int)last["error"]!["code"]!);
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal("\"\"", message.Response);
        Assert.Equal("Let me think. ", message.ReasoningText);
        Assert.Equal(1000 - message.Credits, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Heartbeats_are_sent_while_the_provider_is_silent()
    {
        var (_, client, runId) = await SetUpAsync();
        var sse = await (await client.PostChatAsync(ChatFixture.ChatBody("test/quiet", runId))).Content.ReadAsStringAsync();
        var beat = sse.IndexOf("\n: heartbeat ", StringComparison.Ordinal);
        Assert.True(beat > 0 && beat < sse.IndexOf("data: ", StringComparison.Ordinal), sse);
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_stream_is_still_billed_for_the_whole_answer()
    {
        var (user, client, runId) = await SetUpAsync();
        var response = await client.PostChatAsync(ChatFixture.ChatBody("test/drip-pricey", runId), HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        _ = await stream.ReadAsync(buffer);
        response.Dispose();
        client.Dispose();

        var message = Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        Assert.Equal("\"Hello from the fake provider.\"", message.Response);
        Assert.Equal(53, message.Credits);
        Assert.Equal(1000 - 53, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_provider_that_reuses_an_id_is_billed_for_every_call_and_its_id_stays_findable()
    {
        var (user, client, runId) = await SetUpAsync();
        var model = $"test/fixedid{Guid.NewGuid():N}";
        var providerId = "gen-fixed-" + model.Split("fixedid")[^1];
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.PostChatAsync(ChatFixture.ChatBody(model, runId, stream: i % 2 == 0))));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        foreach (var a in answers) await a.Content.ReadAsStringAsync();

        var rows = await server.MessagesAsync(user.Id);
        Assert.Equal(6, rows.Count);
        Assert.Single(rows, r => r.Id == providerId);
        Assert.Equal(5, rows.Count(r => r.Id.StartsWith("gen-") && r.Id.Length == 36));
        Assert.Equal(1000 - 6, await server.BalanceAsync(user.Id));
        await using var conn = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT count(*) FROM billing.message_call WHERE provider_message_id = @p", conn);
        cmd.Parameters.AddWithValue("p", providerId);
        Assert.Equal(6L, await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Concurrent_calls_are_each_billed_exactly_once()
    {
        var (user, client, runId) = await SetUpAsync(credits: 100);
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => client.PostChatAsync(ChatFixture.ChatBody("test/pricey", runId))));
        // Each call holds 7 credits while in flight (the default price of its 4,000 held output tokens), so all 12 may
        // pass the gate on 100 credits; billed 53 each, they take the balance into debt and later ones get 402. Either
        // way each answered call is billed exactly once.
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.PaymentRequired }));
        var served = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        Assert.True(served >= 2, $"only {served} calls were served");
        var rows = await server.MessagesAsync(user.Id);
        Assert.Equal(served, rows.Select(r => r.Id).Distinct().Count());
        Assert.Equal(served, rows.Count);
        Assert.Equal(100 - served * 53, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Byok_uses_the_callers_key_records_credits_and_deducts_nothing()
    {
        var (user, client, runId) = await SetUpAsync();
        var model = $"test/byok-pricey-{Guid.NewGuid():N}";
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions")
        {
            Content = new StringContent(ChatFixture.ChatBody(model, runId).ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-openrouter-api-key", "sk-or-user-own-key");
        var sse = await (await client.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.Equal("Bearer sk-or-user-own-key", server.Upstream.Requests.Single(r => (string?)r.Body["model"] == model).Authorization);
        Assert.Equal(0, (double)ChatTestHelpers.DataChunks(sse)[^1]["usage"]!["cost"]!);
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.True(message.Byok);
        Assert.Equal(53, message.Credits);
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Free_mode_is_refused_for_agents_and_models_off_the_allow_list()
    {
        var (user, client, runId) = await SetUpAsync();
        var body = ChatFixture.ChatBody("test/model", runId);
        body["codebuff_metadata"]!["cost_mode"] = "free";
        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("free_mode_invalid_agent_model", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        Assert.Empty(await server.MessagesAsync(user.Id));
    }

    [Fact]
    public async Task Free_mode_for_an_allow_listed_pair_passes_the_gate_and_costs_nothing()
    {
        var (user, client, runId) = await SetUpAsync(credits: null, agentId: "file-picker");
        var body = ChatFixture.ChatBody("google/gemini-2.5-flash-lite", runId);
        body["codebuff_metadata"]!["cost_mode"] = "free";
        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal((0, 0.0123m), (message.Credits, message.Cost));
        Assert.Equal(0, await server.BalanceAsync(user.Id));
    }
}
