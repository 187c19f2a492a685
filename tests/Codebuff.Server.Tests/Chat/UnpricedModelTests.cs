namespace Codebuff.Server.Tests.Chat;

/// <summary>A plain OpenAI-compatible provider that reports no cost, serving every model ("*").</summary>
public sealed class CostlessProviderFixture : ChatFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:ReportsCost"] = null; // as shipped: only Kind openrouter reports cost
        return s;
    }
}

/// <summary>
/// A caller could name the costliest model behind a provider's prefix entry; on a provider that reports no cost, a model
/// our price table does not know would be billed at the table's default price. Such a model is refused before it is
/// sent, and not listed.
/// </summary>
public sealed class UnpricedModelTests(CostlessProviderFixture server) : IClassFixture<CostlessProviderFixture>
{
    [Fact]
    public async Task A_model_without_a_price_on_a_provider_reporting_no_cost_is_refused_before_it_is_sent_and_not_listed()
    {
        var user = await server.CreateUserAsync(1000);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var sent = server.Upstream.Requests.Count;

        var response = await client.PostChatAsync(ChatFixture.ChatBody("openai/o9-pro-unpriced", runId));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal(("model_not_found", "model"), ((string?)error["code"], (string?)error["param"]));
        Assert.Equal("The model 'openai/o9-pro-unpriced' has no price in this server's table, so it cannot be billed. GET /api/v1/models lists the models served.",
            (string?)error["message"]);
        Assert.Equal(sent, server.Upstream.Requests.Count);
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));

        // A model the table prices goes through and is billed.
        var priced = await client.PostChatAsync(ChatFixture.ChatBody("openai/gpt-4o", runId));
        Assert.Equal(HttpStatusCode.OK, priced.StatusCode);
        Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));

        var list = (await client.GetFromJsonAsync<JsonObject>("/api/v1/models"))!["data"]!.AsArray().Select(m => (string?)m!["id"]).ToList();
        Assert.Contains("openai/gpt-4o", list);
        Assert.DoesNotContain("openai/o9-pro-unpriced", list);
        var one = await client.GetAsync("/api/v1/models/openai/o9-pro-unpriced");
        Assert.Equal(HttpStatusCode.NotFound, one.StatusCode);
        Assert.Equal("model_not_found", (string?)(await one.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]);
    }
}
