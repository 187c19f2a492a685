using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Chat;

/// <summary>The checks of api.md §2.5.3, in order, each with its exact body and nothing forwarded or billed.</summary>
public sealed class ChatGateTests(ChatFixture server) : IClassFixture<ChatFixture>
{
    async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status, string expectedJson, string userId)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(expectedJson, (await response.Content.ReadAsStringAsync()));
        Assert.Empty(await server.MessagesAsync(userId));
    }

    [Fact]
    public async Task Bad_json_is_refused_first_even_without_a_token()
    {
        var response = await server.Client.PostAsync("/api/v1/chat/completions", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("""{"message":"Invalid JSON in request body"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_json_body_labelled_text_plain_is_read_as_json()
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var response = await client.PostAsync("/api/v1/chat/completions", new StringContent(ChatFixture.ChatBody("test/model", runId).ToJsonString()));
        Assert.Equal("text/plain", response.RequestMessage!.Content!.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        Assert.Single(await server.MessagesAsync(user.Id));
    }

    [Fact]
    public async Task Missing_and_unknown_tokens_get_401()
    {
        var body = ChatFixture.ChatBody("test/model", "run");
        var missing = await server.Client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("""{"message":"Unauthorized"}""", await missing.Content.ReadAsStringAsync());
        var bad = new HttpClient { BaseAddress = server.BaseAddress };
        bad.DefaultRequestHeaders.Authorization = new("Bearer", "cb-pat-nope");
        var unknown = await bad.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("""{"message":"Invalid Codebuff API key"}""", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Banned_users_get_403_account_suspended()
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true));
        await AssertRefusedAsync(await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId)), HttpStatusCode.Forbidden,
            """{"error":"account_suspended","message":"Your account has been suspended due to billing issues. Please contact support@codebuff.com to resolve this."}""", user.Id);
    }

    [Fact]
    public async Task Run_id_must_be_present_owned_and_running()
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var other = await server.CreateUserAsync(100);
        var othersRun = await server.StartRunAsync(server.ClientFor(other));

        var noRun = ChatFixture.ChatBody("test/model", "x");
        noRun["codebuff_metadata"]!.AsObject().Remove("run_id");
        await AssertRefusedAsync(await client.PostChatAsync(noRun), HttpStatusCode.BadRequest, """{"message":"No runId found in request body"}""", user.Id);
        await AssertRefusedAsync(await client.PostChatAsync(ChatFixture.ChatBody("test/model", othersRun)), HttpStatusCode.BadRequest,
            $$"""{"message":"runId Not Found: {{othersRun}}"}""", user.Id);

        var runId = await server.StartRunAsync(client);
        (await client.PostAsync("/api/v1/agent-runs", new StringContent($$"""{"action":"FINISH","runId":"{{runId}}","status":"completed","totalSteps":1,"directCredits":0,"totalCredits":0}"""))).EnsureSuccessStatusCode();
        await AssertRefusedAsync(await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId)), HttpStatusCode.BadRequest,
            $$"""{"message":"runId Not Running: {{runId}}"}""", user.Id);
    }

    [Fact]
    public async Task No_credits_gets_the_exact_402_body_and_the_provider_is_not_called()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var model = $"test/broke-{Guid.NewGuid():N}";
        var response = await client.PostChatAsync(ChatFixture.ChatBody(model, runId));
        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Matches("""^\{"message":"Out of credits. Please add credits at http://localhost:5000/usage. Your free credits reset in (30|31|28|29) days."\}$""", body);
        Assert.DoesNotContain(server.Upstream.Requests, r => (string?)r.Body["model"] == model);
        Assert.Empty(await server.MessagesAsync(user.Id));
    }

    [Fact]
    public void Countdown_uses_the_largest_whole_unit()
    {
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.Equal("soon", Codebuff.Server.Chat.ChatCompletionEndpoints.Countdown(null, now));
        Assert.Equal("soon", Codebuff.Server.Chat.ChatCompletionEndpoints.Countdown(now.AddSeconds(-1), now));
        Assert.Equal("in 1 minute", Codebuff.Server.Chat.ChatCompletionEndpoints.Countdown(now.AddSeconds(5), now));
        Assert.Equal("in 1 hour", Codebuff.Server.Chat.ChatCompletionEndpoints.Countdown(now.AddMinutes(61), now));
        Assert.Equal("in 2 days", Codebuff.Server.Chat.ChatCompletionEndpoints.Countdown(now.AddHours(49), now));
    }
}

public sealed class RateLimitedChatFixture : ChatFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Chat:RateLimitPerMinute"] = "1";
        s["Codebuff:Chat:RateLimitBurst"] = "2";
        return s;
    }
}

public sealed class ChatRateLimitTests(RateLimitedChatFixture server) : IClassFixture<RateLimitedChatFixture>
{
    [Fact]
    public async Task Past_the_burst_a_user_gets_429_with_Retry_After_and_others_are_unaffected()
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId))).StatusCode);
        var limited = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single()) >= 1);
        var body = (await limited.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("rate_limit_exceeded", (string?)body["error"]);
        Assert.Contains("Try again in", (string?)body["message"]);
        Assert.Equal(2, (await server.MessagesAsync(user.Id)).Count);

        var other = await server.CreateUserAsync(100);
        var otherClient = server.ClientFor(other);
        Assert.Equal(HttpStatusCode.OK, (await otherClient.PostChatAsync(ChatFixture.ChatBody("test/model", await server.StartRunAsync(otherClient)))).StatusCode);
    }

    [Fact]
    public async Task Calls_refused_by_the_run_checks_take_no_token_and_are_refused_for_the_run_even_when_the_bucket_is_empty()
    {
        var user = await server.CreateUserAsync(100);
        var client = server.ClientFor(user);
        var unknown = "run-" + Guid.NewGuid().ToString("N");
        // The token is taken in the gate's own query, only for a running run: three refusals leave the burst of 2 whole.
        for (var i = 0; i < 3; i++)
        {
            var refused = await client.PostChatAsync(ChatFixture.ChatBody("test/model", unknown));
            Assert.Equal((HttpStatusCode.BadRequest, $$"""{"message":"runId Not Found: {{unknown}}"}"""), (refused.StatusCode, await refused.Content.ReadAsStringAsync()));
        }
        var runId = await server.StartRunAsync(client);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId))).StatusCode);
        Assert.Equal((HttpStatusCode)429, (await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId))).StatusCode);

        // With the bucket empty, the run checks still answer first (api.md §2.5.3 order).
        var afterLimit = await client.PostChatAsync(ChatFixture.ChatBody("test/model", unknown));
        Assert.Equal((HttpStatusCode.BadRequest, $$"""{"message":"runId Not Found: {{unknown}}"}"""), (afterLimit.StatusCode, await afterLimit.Content.ReadAsStringAsync()));
        Assert.Equal(2, (await server.MessagesAsync(user.Id)).Count);
    }
}
