using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Chat.Anthropic;

/// <summary>
/// A Codebuff:Providers list with an anthropic entry ("claude", KeyType anthropic, priority 0) and an openai entry
/// ("openai", priority 1) that both serve anthropic/*.
/// </summary>
public sealed class AnthropicGatewayFixture : ServerFixture
{
    public FakeAnthropic Anthropic { get; } = new();
    public FakeUpstream OpenAi { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Providers:0:Name"] = "openai";
        s["Codebuff:Providers:0:Kind"] = "openai";
        s["Codebuff:Providers:0:BaseUrl"] = OpenAi.BaseUrl;
        s["Codebuff:Providers:0:ApiKey"] = "sk-openai-server-key";
        s["Codebuff:Providers:0:Priority"] = "1";
        s["Codebuff:Providers:0:Models:0"] = "anthropic/*";
        s["Codebuff:Providers:1:Name"] = "claude";
        s["Codebuff:Providers:1:Kind"] = "anthropic";
        s["Codebuff:Providers:1:BaseUrl"] = Anthropic.BaseUrl;
        s["Codebuff:Providers:1:ApiKey"] = "sk-ant-server-key";
        s["Codebuff:Providers:1:Priority"] = "0";
        s["Codebuff:Providers:1:KeyType"] = "anthropic";
        s["Codebuff:Providers:1:Models:0"] = "anthropic/*";
        s["Codebuff:Upstream:TimeoutSeconds"] = "10";
        s["Codebuff:Upstream:IdleTimeoutSeconds"] = "5";
        s["Codebuff:Byok:MasterKey"] = "0123456789abcdef0123456789abcdef";
        return s;
    }

    public override async Task InitializeAsync()
    {
        await Anthropic.StartAsync();
        await OpenAi.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Anthropic.DisposeAsync();
        await OpenAi.DisposeAsync();
    }
}

/// <summary>Issue #33 item 1 with #32's providers list: Kind=anthropic as one provider among others.</summary>
public sealed class AnthropicGatewayTests(AnthropicGatewayFixture server) : IClassFixture<AnthropicGatewayFixture>
{
    const string Model = "anthropic/claude-sonnet-4.5";
    const string StoredKey = "sk-ant-api03-users-own-stored-key";

    /// <summary>A plain OpenAI request whose prompt (unique per call) says what the fake Anthropic does.</summary>
    static JsonObject Body(string prompt, bool stream) => new()
    {
        ["model"] = Model, ["stream"] = stream, ["max_tokens"] = 100,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
    };

    /// <summary>The answer's text, from its JSON or its stream's content deltas.</summary>
    static async Task<string> ContentAsync(HttpResponseMessage response, bool stream)
    {
        var text = await response.Content.ReadAsStringAsync();
        return stream
            ? string.Concat(ChatTestHelpers.DataChunks(text).Select(c => (string?)(c["choices"] as JsonArray)?.FirstOrDefault()?["delta"]?["content"]))
            : (string)JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]!;
    }

    static bool Says(JsonObject body, string prompt) => body.ToJsonString().Contains(prompt);

    async Task<(TestUser User, HttpClient Client)> UserAsync(string? storedAnthropicKey = null)
    {
        var user = await server.CreateUserAsync(1000);
        var client = server.ClientFor(user);
        if (storedAnthropicKey is not null)
            Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/api/user/api-keys/anthropic", new StringContent($$"""{"apiKey":"{{storedAnthropicKey}}"}"""))).StatusCode);
        return (user, client);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_anthropic_provider_answers_first_and_a_failing_one_falls_back_to_the_next_provider_serving_the_model(bool stream)
    {
        var (user, client) = await UserAsync();
        var hi = $"hi {Guid.NewGuid():N}";
        var answered = await client.PostChatAsync(Body(hi, stream));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(FakeAnthropic.Text, await ContentAsync(answered, stream));
        Assert.Equal("sk-ant-server-key", Assert.Single(server.Anthropic.Requests, r => Says(r.Body, hi)).ApiKey);
        Assert.DoesNotContain(server.OpenAi.Requests, r => Says(r.Body, hi));
        var first = Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        Assert.Equal("claude", await server.ProviderOfAsync(first.Id));
        Assert.False(first.Byok);
        Assert.Equal(100000, first.CacheCreationInputTokens);

        // Anthropic answers 529 overloaded: nothing reached the client yet, so the openai provider answers instead.
        var overloaded = $"overloaded {Guid.NewGuid():N}";
        var fellBack = await client.PostChatAsync(Body(overloaded, stream));
        Assert.Equal(HttpStatusCode.OK, fellBack.StatusCode);
        Assert.DoesNotContain("Overloaded", await fellBack.Content.ReadAsStringAsync());
        Assert.Single(server.Anthropic.Requests, r => Says(r.Body, overloaded));
        Assert.Equal("Bearer sk-openai-server-key", Assert.Single(server.OpenAi.Requests, r => Says(r.Body, overloaded)).Authorization);
        var messages = await server.WaitForMessagesAsync(user.Id, 2);
        var second = Assert.Single(messages, m => m.Id != first.Id);
        Assert.Equal("openai", await server.ProviderOfAsync(second.Id));
        Assert.Equal(Model + "-reported", second.Model);
        Assert.Equal(1000 - first.Credits - second.Credits, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_stored_anthropic_key_reaches_anthropic_billed_zero_and_never_falls_back_to_the_server_key()
    {
        var (user, client) = await UserAsync(StoredKey);
        var hi = $"hi {Guid.NewGuid():N}";
        var response = await client.PostChatAsync(Body(hi, stream: true));
        var sse = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(StoredKey, sse);
        Assert.Equal(0, (double)ChatTestHelpers.DataChunks(sse).Single(c => c["usage"] is not null)["usage"]!["cost"]!);
        Assert.Equal(StoredKey, Assert.Single(server.Anthropic.Requests, r => Says(r.Body, hi)).ApiKey);
        var message = Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        Assert.True(message.Byok);
        Assert.Equal("claude", await server.ProviderOfAsync(message.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));

        // A BYOK call whose provider fails is not moved to the openai provider, which would use the server's key.
        var overloaded = $"overloaded {Guid.NewGuid():N}";
        var failed = await client.PostChatAsync(Body(overloaded, stream: false));
        Assert.Equal(529, (int)failed.StatusCode);
        Assert.Equal(StoredKey, Assert.Single(server.Anthropic.Requests, r => Says(r.Body, overloaded)).ApiKey);
        Assert.DoesNotContain(server.OpenAi.Requests, r => Says(r.Body, overloaded));
    }

    [Fact]
    public async Task A_stored_anthropic_key_anthropic_rejects_is_a_401_naming_the_key_type()
    {
        var rejected = "sk-ant-api03-rejected-0123456789";
        var (user, client) = await UserAsync(rejected);
        var hi = $"hi {Guid.NewGuid():N}";
        var response = await client.PostChatAsync(Body(hi, stream: false));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal(("invalid_stored_key", "anthropic", "claude"), ((string?)error["code"], (string?)error["key_type"], (string?)error["provider"]));
        Assert.DoesNotContain(rejected, text);
        Assert.Equal(rejected, Assert.Single(server.Anthropic.Requests, r => Says(r.Body, hi)).ApiKey);
        Assert.DoesNotContain(server.OpenAi.Requests, r => Says(r.Body, hi));
        await Task.Delay(300);
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
    }
}
