namespace Codebuff.Server.Tests.Chat;

/// <summary>The fake provider treated as OpenRouter: bodies are forwarded with OpenRouter's extensions.</summary>
public sealed class OpenRouterChatFixture : ChatFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:IsOpenRouter"] = "true";
        return s;
    }
}

/// <summary>
/// Free mode serves only the allowed model, and what a call is billed follows the model that answered (issue 25 item 1):
/// each attack is a body as the SDK could send it, checked as the fake provider received it and as it was billed.
/// </summary>
public sealed class FreeModeTests(OpenRouterChatFixture server) : IClassFixture<OpenRouterChatFixture>
{
    const string FilePickerModel = "google/gemini-2.5-flash-lite";

    async Task<(Infrastructure.TestUser User, HttpClient Client, string RunId)> SetUpAsync(int? credits, string agentId)
    {
        var user = await server.CreateUserAsync(credits);
        var client = server.ClientFor(user);
        return (user, client, await server.StartRunAsync(client, agentId));
    }

    JsonObject Received(string clientId) => server.Upstream.Requests.Single(r => (string?)r.Body["codebuff_metadata"]?["client_id"] == clientId).Body;

    static JsonObject Tagged(JsonObject body, out string clientId)
    {
        clientId = "client-" + Guid.NewGuid().ToString("N");
        body["codebuff_metadata"]!["client_id"] = clientId;
        return body;
    }

    [Fact]
    public async Task A_free_call_reaches_the_provider_pinned_to_the_allowed_model_whatever_routing_the_body_asked_for()
    {
        var (user, client, runId) = await SetUpAsync(credits: null, agentId: "base2-free");
        var body = Tagged(ChatFixture.ChatBody("minimax/minimax-m2.5", runId), out var clientId);
        body["codebuff_metadata"]!["cost_mode"] = "free";
        // The attack: Opus as a fallback, only on Anthropic (where minimax is not served), so Opus answers for free.
        body["models"] = new JsonArray("minimax/minimax-m2.5", "anthropic/claude-opus-4.1");
        body["provider"] = new JsonObject { ["only"] = new JsonArray("anthropic") };
        body["route"] = "fallback";
        body["plugins"] = new JsonArray(new JsonObject { ["id"] = "web" });
        body["transforms"] = new JsonArray("middle-out");
        body["max_tokens"] = 1_000_000;
        body["n"] = 8;

        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();

        var forwarded = Received(clientId);
        Assert.Equal("minimax/minimax-m2.5", (string?)forwarded["model"]);
        foreach (var key in new[] { "models", "route", "plugins", "transforms" }) Assert.False(forwarded.ContainsKey(key), key);
        Assert.Equal("""{"sort":"price","allow_fallbacks":true}""", forwarded["provider"]!.ToJsonString());
        Assert.Equal((32000, 1), ((int)forwarded["max_tokens"]!, (int)forwarded["n"]!));
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(("minimax/minimax-m2.5-reported", 0), (message.Model, message.Credits));
    }

    /// <summary>Fields a deny-list does not know (paid search, audio output, a provider's next extension) never reach the
    /// provider on a free call; the chat fields it knows are kept.</summary>
    [Fact]
    public async Task A_free_call_forwards_only_known_chat_fields()
    {
        var (_, client, runId) = await SetUpAsync(credits: null, agentId: "base2-free");
        var body = Tagged(ChatFixture.ChatBody("minimax/minimax-m2.5", runId), out var clientId);
        body["codebuff_metadata"]!["cost_mode"] = "free";
        body["temperature"] = 0.3;
        body["tools"] = new JsonArray(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "read_files", ["parameters"] = new JsonObject() } });
        body["web_search_options"] = new JsonObject { ["search_context_size"] = "high" };
        body["modalities"] = new JsonArray("text", "audio");
        body["audio"] = new JsonObject { ["voice"] = "alloy", ["format"] = "wav" };
        body["prediction"] = new JsonObject { ["type"] = "content", ["content"] = "x" };
        body["some_future_extension"] = new JsonObject { ["models"] = new JsonArray("anthropic/claude-opus-4.1") };

        (await client.PostChatAsync(body)).EnsureSuccessStatusCode();

        var forwarded = Received(clientId);
        foreach (var key in new[] { "web_search_options", "modalities", "audio", "prediction", "some_future_extension" }) Assert.False(forwarded.ContainsKey(key), key);
        Assert.Equal(0.3, (double)forwarded["temperature"]!);
        Assert.Equal("read_files", (string?)forwarded["tools"]![0]!["function"]!["name"]);
        Assert.Equal("minimax/minimax-m2.5", (string?)forwarded["model"]);
    }

    [Fact]
    public async Task A_free_call_without_max_tokens_gets_the_cap_and_a_smaller_one_is_kept()
    {
        var (_, client, runId) = await SetUpAsync(credits: null, agentId: "file-picker");
        var without = Tagged(ChatFixture.ChatBody(FilePickerModel, runId), out var first);
        without["codebuff_metadata"]!["cost_mode"] = "free";
        without.Remove("max_tokens");
        var small = Tagged(ChatFixture.ChatBody(FilePickerModel, runId), out var second);
        small["codebuff_metadata"]!["cost_mode"] = "free";
        small["max_tokens"] = 500;
        foreach (var body in new[] { without, small }) (await client.PostChatAsync(body)).EnsureSuccessStatusCode();
        Assert.Equal(32000, (int)Received(first)["max_tokens"]!);
        Assert.Equal(500, (int)Received(second)["max_tokens"]!);
        Assert.Equal("""{"sort":"price","allow_fallbacks":true}""", Received(second)["provider"]!.ToJsonString());
    }

    [Fact]
    public async Task A_file_picker_run_calling_another_model_is_billed_even_for_a_short_call()
    {
        var (user, client, runId) = await SetUpAsync(credits: 100, agentId: "file-picker");
        // Not in free mode: a cheap call (1 credit) of a model that is not file-picker's own.
        (await client.PostChatAsync(ChatFixture.ChatBody("anthropic/claude-opus-4.1", runId))).EnsureSuccessStatusCode();
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(1, message.Credits);
        Assert.Equal(99, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_file_picker_run_asking_for_its_model_with_a_fallback_is_billed_when_the_fallback_answers()
    {
        var (user, client, runId) = await SetUpAsync(credits: 100, agentId: "file-picker");
        var body = ChatFixture.ChatBody(FilePickerModel, runId);
        body["models"] = new JsonArray(FilePickerModel, "anthropic/claude-opus-4.1");
        (await client.PostChatAsync(body)).EnsureSuccessStatusCode();
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(("anthropic/claude-opus-4.1", 1), (message.Model, message.Credits));
    }

    [Fact]
    public async Task A_file_picker_runs_short_call_of_its_own_model_stays_free()
    {
        var (user, client, runId) = await SetUpAsync(credits: 100, agentId: "file-picker");
        (await client.PostChatAsync(ChatFixture.ChatBody(FilePickerModel, runId))).EnsureSuccessStatusCode();
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal((FilePickerModel + "-reported", 0), (message.Model, message.Credits));
        Assert.Equal(100, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Outside_free_mode_a_call_is_priced_by_the_model_that_answered()
    {
        var (user, client, runId) = await SetUpAsync(credits: 100, agentId: "greeter");
        // No cost reported, so the price table decides: asked for an unknown model (default $3/$15 per million → 1
        // credit for this usage), answered by Opus ($15/$75 → 900×15 + 100×1.5 + 200×75 = 28,650 µ$ → 3 credits).
        var body = ChatFixture.ChatBody("test/nocost-cheap", runId);
        body["models"] = new JsonArray("test/nocost-cheap", "anthropic/claude-opus-4.1");
        (await client.PostChatAsync(body)).EnsureSuccessStatusCode();
        var message = Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(("anthropic/claude-opus-4.1", 0.02865m, 3), (message.Model, message.Cost, message.Credits));
        Assert.Equal(97, await server.BalanceAsync(user.Id));
    }
}
