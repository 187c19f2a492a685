using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Chat;

/// <summary>Issue #32: plain OpenAI requests, several providers with fallback, stored keys, the models list.</summary>
public sealed class GatewayTests(GatewayFixture server) : IClassFixture<GatewayFixture>
{
    const string StoredKey = "sk-proj-stored-user-key-0123456789";

    async Task<(Infrastructure.TestUser User, HttpClient Client)> UserAsync(int? credits = 1000)
    {
        var user = await server.CreateUserAsync(credits);
        return (user, server.ClientFor(user));
    }

    async Task<List<AgentRun>> RunsAsync(string userId)
    {
        await using var db = server.NewDbContext();
        return await db.AgentRuns.AsNoTracking().Where(r => r.UserId == userId).OrderBy(r => r.CreatedAt).ToListAsync();
    }

    async Task<int> MessageCallsAsync(string userId)
    {
        await using var db = server.NewDbContext();
        return (await db.Database.SqlQuery<int>($"""
            SELECT count(*)::int AS "Value" FROM billing.message_call c JOIN message m ON m.id = c.message_id WHERE m.user_id = {userId}
            """).ToListAsync()).Single();
    }

    /// <summary>Every call billed exactly once: one message, one call row and the ledger down by exactly the credits told.</summary>
    async Task<Message> BilledOnceAsync(Infrastructure.TestUser user, int balanceBefore, int credits)
    {
        var message = Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        await Task.Delay(200); // a second charge, if any, would have landed by now
        Assert.Single(await server.MessagesAsync(user.Id));
        Assert.Equal(1, await MessageCallsAsync(user.Id));
        Assert.Equal(credits, message.Credits);
        Assert.Equal(balanceBefore - (message.Byok ? 0 : credits), await server.BalanceAsync(user.Id));
        return message;
    }

    [Fact]
    public async Task A_plain_request_without_codebuff_metadata_is_billed_once_under_a_run_of_its_own()
    {
        var (user, client) = await UserAsync();
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("test/plain"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(text)!;
        Assert.Equal("Hello there", (string?)json["choices"]![0]!["message"]!["content"]);
        Assert.Equal(1 / 105.5, (double)json["usage"]!["cost"]!, 12);

        var message = await BilledOnceAsync(user, 1000, 1);
        Assert.Equal("openai-api", message.AgentId);
        Assert.Equal("primary", await server.ProviderOfAsync(message.Id));
        var run = Assert.Single(await RunsAsync(user.Id));
        Assert.Equal(run.Id, message.ClientRequestId);
        Assert.Equal(("openai-api", AgentRunStatus.Completed, 1, 1m, 1m), (run.AgentId, run.Status, run.TotalSteps, run.DirectCredits, run.TotalCredits));
        Assert.NotNull(run.CompletedAt);
        // What the provider got: a plain OpenAI body, on the server's key of the provider that serves the model.
        var sent = Assert.Single(server.Primary.Requests, r => (string?)r.Body["model"] == "test/plain");
        Assert.Equal("Bearer primary-server-key", sent.Authorization);
        Assert.False(sent.Body.ContainsKey("codebuff_metadata"));
    }

    [Fact]
    public async Task A_plain_streamed_request_is_relayed_billed_once_and_each_call_gets_its_own_run()
    {
        var (user, client) = await UserAsync();
        var sse = await (await client.PostChatAsync(GatewayFixture.PlainBody("test/plainstream", stream: true))).Content.ReadAsStringAsync();
        Assert.EndsWith("data: [DONE]\n\n", sse);
        var chunks = ChatTestHelpers.DataChunks(sse);
        Assert.Equal("Hello from the fake provider.", string.Concat(chunks.Select(c => (string?)c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"])));
        var message = await BilledOnceAsync(user, 1000, 1);
        Assert.Equal(message.Id, (string?)chunks[0]["id"]);

        await client.PostChatAsync(GatewayFixture.PlainBody("test/plainstream"));
        var runs = await RunsAsync(user.Id);
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal(("openai-api", AgentRunStatus.Completed), (r.AgentId, r.Status)));
        Assert.Equal(runs.Select(r => r.Id).Order(), (await server.WaitForMessagesAsync(user.Id, 2)).Select(m => m.ClientRequestId!).Order());
    }

    [Fact]
    public async Task Codebuff_metadata_without_run_id_is_still_refused_and_starts_no_run()
    {
        var (user, client) = await UserAsync();
        var body = GatewayFixture.PlainBody("test/plain");
        body["codebuff_metadata"] = new JsonObject { ["client_id"] = "c" };
        var response = await client.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("""{"message":"No runId found in request body"}""", await response.Content.ReadAsStringAsync());
        Assert.Empty(await RunsAsync(user.Id));
    }

    [Fact]
    public async Task A_model_no_provider_serves_answers_404_model_not_found_and_starts_no_run()
    {
        var (user, client) = await UserAsync();
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("nobody/serves-this"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal("model_not_found", (string?)error["code"]);
        Assert.Contains("nobody/serves-this", (string?)error["message"]);
        Assert.Empty(await RunsAsync(user.Id));
    }

    [Fact]
    public async Task A_plain_request_refused_for_credits_leaves_no_run()
    {
        var (user, client) = await UserAsync(null);
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("test/broke"));
        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        Assert.StartsWith("Out of credits.", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["message"]);
        Assert.Empty(await RunsAsync(user.Id));
    }

    [Fact]
    public async Task An_empty_byok_header_is_refused_and_nothing_is_billed()
    {
        var (user, client) = await UserAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions") { Content = JsonContent.Create(GatewayFixture.PlainBody("test/empty-key")) };
        request.Headers.TryAddWithoutValidation("x-openrouter-api-key", "");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("x-openrouter-api-key", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["message"]);
        Assert.DoesNotContain(server.Primary.Requests, r => (string?)r.Body["model"] == "test/empty-key");
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
        Assert.Empty(await RunsAsync(user.Id));
    }

    [Fact]
    public async Task A_header_key_for_a_provider_that_checks_no_key_is_ignored_and_the_call_is_billed()
    {
        var (user, client) = await UserAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions") { Content = JsonContent.Create(GatewayFixture.PlainBody("keyless/free-ride")) };
        request.Headers.Add("x-openrouter-api-key", "made-up");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = await BilledOnceAsync(user, 1000, 1);
        Assert.False(message.Byok);
        Assert.Equal(999, await server.BalanceAsync(user.Id));
        Assert.Equal("", Assert.Single(server.Backup.Requests, r => (string?)r.Body["model"] == "keyless/free-ride").Authorization);
    }

    [Theory]
    [InlineData("test/fallback-503", false)]
    [InlineData("test/fallback-429", true)]
    [InlineData("test/fallback-broken", false)]
    public async Task A_provider_failing_before_the_first_byte_falls_back_to_the_next_and_the_answering_provider_is_billed_and_recorded(string model, bool stream)
    {
        var (user, client) = await UserAsync();
        var response = await client.PostChatAsync(GatewayFixture.PlainBody(model, stream));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("fake provider refused", text);
        Assert.Single(server.Primary.Requests, r => (string?)r.Body["model"] == model);
        var answered = Assert.Single(server.Backup.Requests, r => (string?)r.Body["model"] == model);
        Assert.Equal("Bearer backup-server-key", answered.Authorization);

        var message = await BilledOnceAsync(user, 1000, 1);
        Assert.Equal(model + "-reported", message.Model);
        Assert.Equal("backup", await server.ProviderOfAsync(message.Id));
    }

    [Fact]
    public async Task A_connection_failure_falls_back_to_the_next_provider()
    {
        var (user, client) = await UserAsync();
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("conn/model", stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", await response.Content.ReadAsStringAsync());
        var message = await BilledOnceAsync(user, 1000, 1);
        Assert.Equal("backup", await server.ProviderOfAsync(message.Id));
    }

    [Fact]
    public async Task When_every_provider_fails_the_last_error_is_returned_nothing_is_billed_and_the_run_failed()
    {
        var (user, client) = await UserAsync();
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("test/error"));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("fake provider failure", await response.Content.ReadAsStringAsync());
        Assert.Single(server.Primary.Requests, r => (string?)r.Body["model"] == "test/error");
        Assert.Single(server.Backup.Requests, r => (string?)r.Body["model"] == "test/error");
        await Task.Delay(300);
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
        Assert.Equal(AgentRunStatus.Failed, Assert.Single(await RunsAsync(user.Id)).Status);
    }

    [Fact]
    public async Task A_stored_key_reaches_its_provider_and_the_call_is_byok_billed_zero()
    {
        var (user, client) = await UserAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/api/user/api-keys/openai", new StringContent($$"""{"apiKey":"{{StoredKey}}"}"""))).StatusCode);
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("byok/stored", stream: true));
        var sse = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, (double)ChatTestHelpers.DataChunks(sse).Single(c => c["usage"] is not null)["usage"]!["cost"]!);
        Assert.DoesNotContain(StoredKey, sse);

        var sent = Assert.Single(server.Primary.Requests, r => (string?)r.Body["model"] == "byok/stored");
        Assert.Equal("Bearer " + StoredKey, sent.Authorization);
        Assert.DoesNotContain(server.Backup.Requests, r => (string?)r.Body["model"] == "byok/stored");
        var message = Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        Assert.True(message.Byok);
        Assert.Equal(1, message.Credits); // what it would have cost, recorded; nothing deducted
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
        Assert.Equal(1, await MessageCallsAsync(user.Id));
        Assert.Equal("own-key", await server.ProviderOfAsync(message.Id));
        Assert.Equal(0m, Assert.Single(await RunsAsync(user.Id)).DirectCredits);
    }

    [Fact]
    public async Task Without_a_stored_key_the_same_model_uses_the_server_key_and_is_billed()
    {
        var (user, client) = await UserAsync();
        await client.PostChatAsync(GatewayFixture.PlainBody("byok/serverkey"));
        var sent = Assert.Single(server.Primary.Requests, r => (string?)r.Body["model"] == "byok/serverkey");
        Assert.Equal("Bearer own-key-server-key", sent.Authorization);
        var message = await BilledOnceAsync(user, 1000, 1);
        Assert.False(message.Byok);
    }

    [Fact]
    public async Task A_stored_key_the_provider_rejects_is_a_401_naming_the_key_type_and_never_falls_back_to_the_server_key()
    {
        var (user, client) = await UserAsync();
        await client.PutAsync("/api/user/api-keys/openai", new StringContent($$"""{"apiKey":"{{StoredKey}}"}"""));
        var response = await client.PostChatAsync(GatewayFixture.PlainBody("byok/rejected-401"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("invalid_stored_key", (string?)error["code"]);
        Assert.Equal("openai", (string?)error["key_type"]);
        Assert.StartsWith("Your stored openai API key was rejected by the model provider 'own-key' (HTTP 401).", (string?)error["message"]);
        Assert.DoesNotContain(StoredKey, text);
        Assert.DoesNotContain("stored-user-key", text);
        // backup serves byok/* on the server's key: a BYOK call must never get there.
        Assert.DoesNotContain(server.Backup.Requests, r => (string?)r.Body["model"] == "byok/rejected-401");
        await Task.Delay(300);
        Assert.Empty(await server.MessagesAsync(user.Id));
        Assert.Equal(1000, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Models_lists_the_price_table_and_exact_provider_models_in_openai_shape_with_prices()
    {
        var (_, client) = await UserAsync();
        var list = (await client.GetFromJsonAsync<JsonObject>("/api/v1/models"))!;
        Assert.Equal("list", (string?)list["object"]);
        var data = list["data"]!.AsArray().Select(m => m!.AsObject()).ToList();
        var ids = data.Select(m => (string)m["id"]!).ToList();
        Assert.Contains("exact/listed-model", ids);
        Assert.Contains("openai/gpt-4o-mini", ids);
        Assert.DoesNotContain(ids, id => id.EndsWith('*'));
        // Price-table models no provider serves are left out: every listed model can be called.
        Assert.DoesNotContain("anthropic/claude-sonnet-4.5", ids);

        var mini = data.Single(m => (string?)m["id"] == "openai/gpt-4o-mini");
        Assert.Equal("model", (string?)mini["object"]);
        Assert.Equal("openai", (string?)mini["owned_by"]);
        Assert.True((long)mini["created"]! > 0);
        Assert.Equal("""{"input_usd_per_million":0.15,"cached_input_usd_per_million":0.075,"output_usd_per_million":0.6,"credits_per_usd":105.5,"default":false}""",
            mini["pricing"]!.ToJsonString());
        Assert.Equal("""["backup"]""", mini["providers"]!.ToJsonString());

        var one = (await client.GetFromJsonAsync<JsonObject>("/api/v1/models/test/some-model"))!;
        Assert.Equal(("test/some-model", "model", "test"), ((string?)one["id"], (string?)one["object"], (string?)one["owned_by"]));
        Assert.True((bool)one["pricing"]!["default"]!);
        Assert.Equal("""["primary","backup"]""", one["providers"]!.ToJsonString());
        Assert.Equal("test/encoded", (string?)(await client.GetFromJsonAsync<JsonObject>("/api/v1/models/test%2Fencoded"))!["id"]);

        var missing = await client.GetAsync("/api/v1/models/nobody/serves-this");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model_not_found", (string?)(await missing.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]);
        var anonymous = await server.Client.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("""{"message":"Unauthorized"}""", await anonymous.Content.ReadAsStringAsync());
    }
}
