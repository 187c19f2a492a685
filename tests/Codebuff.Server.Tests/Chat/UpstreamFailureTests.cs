namespace Codebuff.Server.Tests.Chat;

public sealed class ImpatientChatFixture : ChatFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:TimeoutSeconds"] = "0.5";
        return s;
    }
}

public sealed class UpstreamTimeoutTests(ImpatientChatFixture server) : IClassFixture<ImpatientChatFixture>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_provider_that_does_not_answer_in_time_gets_504_and_nothing_is_billed(bool stream)
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var response = await client.PostChatAsync(ChatFixture.ChatBody("test/late", runId, stream));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal("The model provider did not answer within 0.5 s.", (string?)error["message"]);
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(100, await server.BalanceAsync(user.Id));
    }
}

public sealed class UnreachableChatFixture : ChatFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        s["Codebuff:Upstream:BaseUrl"] = "http://127.0.0.1:1/v1";
        return s;
    }
}

public sealed class UnreachableUpstreamTests(UnreachableChatFixture server) : IClassFixture<UnreachableChatFixture>
{
    [Fact]
    public async Task An_unreachable_provider_gets_502_with_a_clear_message_and_nothing_is_billed()
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var response = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("""{"error":{"message":"Could not reach the model provider.","code":502}}""", await response.Content.ReadAsStringAsync());
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(100, await server.BalanceAsync(user.Id));
    }
}
