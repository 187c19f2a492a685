using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Codebuff.Server.Tests.Tools;

/// <summary>A fake search provider speaking the documented contract; "empty" queries find nothing, "boom" fails, "slow…" answers after 1 s.</summary>
public sealed class SearchFixture : ServerFixture
{
    WebApplication? _provider;
    string _providerUrl = "";
    public int ProviderCalls;

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Search:WebBaseUrl"] = _providerUrl;
        s["Codebuff:Search:DocsBaseUrl"] = _providerUrl;
        return s;
    }

    public override async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _provider = builder.Build();
        _provider.MapPost("/search", async (HttpContext c) =>
        {
            Interlocked.Increment(ref ProviderCalls);
            var body = (await c.Request.ReadFromJsonAsync<JsonObject>())!;
            var query = (string)body["query"]!;
            if (query == "boom") { c.Response.StatusCode = 500; return; }
            // Answers after a second whether or not the caller still listens, as a provider does.
            if (query.StartsWith("slow")) await Task.Delay(1000, CancellationToken.None);
            await c.Response.WriteAsJsonAsync(new { result = query == "empty" ? null : $"{body["depth"]} results for {query}" });
        });
        _provider.MapPost("/docs", async (HttpContext c) =>
        {
            var body = (await c.Request.ReadFromJsonAsync<JsonObject>())!;
            await c.Response.WriteAsJsonAsync(new { documentation = $"docs for {body["libraryTitle"]} / {body["topic"]}" });
        });
        await _provider.StartAsync();
        _providerUrl = _provider.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_provider is not null) await _provider.DisposeAsync();
    }
}

public sealed class ToolRouteTests(SearchFixture server) : IClassFixture<SearchFixture>
{
    static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task Token_count_is_computed_locally_with_o200k()
    {
        var client = server.ClientFor(await server.CreateUserAsync());
        var response = await client.PostAsync("/api/v1/token-count", Json("""
            {"system":"You are helpful.","model":"anthropic/claude-sonnet-4.5","messages":[{"role":"user","content":"hello world"},{"role":"assistant","content":[{"type":"text","text":"hi"}]}]}
            """));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // o200k: "You are helpful." = 4, "hello world" = 2, "hi" = 1, plus 3 per message.
        Assert.Equal("""{"inputTokens":13}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_count_checks_auth_before_the_body()
    {
        var missing = await server.Client.PostAsync("/api/v1/token-count", Json("{"));
        Assert.Equal((HttpStatusCode.Unauthorized, """{"message":"Unauthorized"}"""), (missing.StatusCode, await missing.Content.ReadAsStringAsync()));
        var client = server.ClientFor(await server.CreateUserAsync());
        var bad = await client.PostAsync("/api/v1/token-count", Json("{"));
        Assert.Equal((HttpStatusCode.BadRequest, """{"error":"Invalid JSON in request body"}"""), (bad.StatusCode, await bad.Content.ReadAsStringAsync()));
        var schema = await client.PostAsync("/api/v1/token-count", Json("""{"messages":"no"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, schema.StatusCode);
        Assert.Equal("Invalid request body", (string?)(await schema.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
    }

    [Fact]
    public async Task Web_search_charges_after_a_result_standard_1_deep_5()
    {
        var user = await server.CreateUserAsync(10);
        var client = server.ClientFor(user);
        var standard = await client.PostAsync("/api/v1/web-search", Json("""{"query":"dotnet"}"""));
        Assert.Equal("""{"result":"standard results for dotnet","creditsUsed":1}""", await standard.Content.ReadAsStringAsync());
        var deep = await client.PostAsync("/api/v1/web-search", Json("""{"query":"dotnet","depth":"deep"}"""));
        Assert.Equal("""{"result":"deep results for dotnet","creditsUsed":5}""", await deep.Content.ReadAsStringAsync());
        Assert.Equal(4, await server.BalanceAsync(user.Id));

        var empty = await client.PostAsync("/api/v1/web-search", Json("""{"query":"empty"}"""));
        Assert.Equal("No search results found for \"empty\"", (string?)(await empty.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        var failed = await client.PostAsync("/api/v1/web-search", Json("""{"query":"boom"}"""));
        Assert.Equal((HttpStatusCode.InternalServerError, """{"error":"Error performing web search"}"""), (failed.StatusCode, await failed.Content.ReadAsStringAsync()));
        Assert.Equal(4, await server.BalanceAsync(user.Id));

        var tooDeep = await client.PostAsync("/api/v1/web-search", Json("""{"query":"x","depth":"deep"}"""));
        Assert.Equal(HttpStatusCode.PaymentRequired, tooDeep.StatusCode);
        var body = (await tooDeep.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(("Insufficient credits", 4, 5), ((string?)body["message"], (int)body["totalRemaining"]!, (int)body["required"]!));
        Assert.NotNull(body["nextQuotaReset"]);
    }

    /// <summary>The provider answered (and will bill the server) though the caller hung up: the search is charged, once.</summary>
    [Fact]
    public async Task A_search_whose_caller_hangs_up_is_charged_once_when_the_provider_answers()
    {
        var user = await server.CreateUserAsync(10);
        var client = server.ClientFor(user);
        var calls = Volatile.Read(ref server.ProviderCalls);
        using var hangUp = new CancellationTokenSource();
        var search = client.PostAsync("/api/v1/web-search", Json("""{"query":"slow hang-up","depth":"deep"}"""), hangUp.Token);
        for (var i = 0; i < 100 && Volatile.Read(ref server.ProviderCalls) == calls; i++) await Task.Delay(20);
        hangUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => search);

        var messages = await server.WaitForMessagesAsync(user.Id, 1);
        await Task.Delay(1500); // a second charge would land by now
        messages = await server.MessagesAsync(user.Id);
        var message = Assert.Single(messages);
        Assert.Equal("web-search", message.Model);
        Assert.Contains("deep results for slow hang-up", message.Response);
        Assert.Equal(5, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Docs_search_charges_1_and_searches_parse_the_body_before_auth()
    {
        var user = await server.CreateUserAsync(3);
        var docs = await server.ClientFor(user).PostAsync("/api/v1/docs-search", Json("""{"libraryTitle":"react","topic":"hooks","maxTokens":500}"""));
        Assert.Equal("""{"documentation":"docs for react / hooks","creditsUsed":1}""", await docs.Content.ReadAsStringAsync());
        Assert.Equal(2, await server.BalanceAsync(user.Id));

        var invalid = await server.Client.PostAsync("/api/v1/docs-search", Json("""{"libraryTitle":"","maxTokens":0}"""));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var details = (await invalid.Content.ReadFromJsonAsync<JsonObject>())!["details"]!;
        Assert.NotNull(details["libraryTitle"]);
        Assert.NotNull(details["maxTokens"]);
        var noToken = await server.Client.PostAsync("/api/v1/web-search", Json("""{"query":"x"}"""));
        Assert.Equal((HttpStatusCode.Unauthorized, """{"message":"Unauthorized"}"""), (noToken.StatusCode, await noToken.Content.ReadAsStringAsync()));
    }
}

public sealed class UnconfiguredSearchTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Without_a_provider_searches_answer_503_with_a_clear_message_and_charge_nothing()
    {
        var user = await server.CreateUserAsync(10);
        var client = server.ClientFor(user);
        var response = await client.PostAsync("/api/v1/web-search", new StringContent("""{"query":"x"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Codebuff:Search:WebBaseUrl", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        var docs = await client.PostAsync("/api/v1/docs-search", new StringContent("""{"libraryTitle":"x"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, docs.StatusCode);
        Assert.Equal(10, await server.BalanceAsync(user.Id));
    }
}
