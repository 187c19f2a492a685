using System.Text;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Hosting;

/// <summary>Bodies refused before any endpoint sees them: too large (413) or holding text PostgreSQL cannot store (400).</summary>
public sealed class RequestBodyTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const int DefaultLimit = 10 * 1024 * 1024;

    static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error, string messagePart)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(["error", "message"], body.Select(p => p.Key));
        Assert.Equal(error, (string?)body["error"]);
        Assert.Contains(messagePart, (string?)body["message"]);
    }

    static string ChatBody(int size) =>
        $$"""{"model":"m","codebuff_metadata":{"run_id":"r"},"messages":[{"role":"user","content":"{{new string('x', size)}}"}]}""";

    [Fact]
    public async Task A_50_mb_chat_body_answers_413_with_a_json_body()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var response = await server.ClientFor(user).PostAsync("/api/v1/chat/completions", new StringContent(ChatBody(50 * 1024 * 1024), Encoding.UTF8, "application/json"));
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large", $"limit of {DefaultLimit} bytes");
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_answers_413_too()
    {
        var user = await server.CreateUserAsync(credits: 100);
        // A stream of unknown length goes out chunked, with no Content-Length to judge it by up front.
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(ChatBody(DefaultLimit + 1))));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var response = await server.ClientFor(user).SendAsync(request);
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large", "larger than this server's limit");
    }

    [Fact]
    public async Task A_large_body_under_the_limit_reaches_the_endpoint()
    {
        var response = await server.Client.PostAsync("/api/v1/chat/completions", new StringContent(ChatBody(DefaultLimit - 1024), Encoding.UTF8, "application/json"));
        // No credential: the chat route's own first answer (api.md §2.5.3), so the whole body was read and handed on.
        Assert.Equal((HttpStatusCode.Unauthorized, """{"message":"Unauthorized"}"""), (response.StatusCode, await response.Content.ReadAsStringAsync()));
    }

    [Theory]
    [InlineData("/api/v1/usage", """{"fingerprintId":"cli\u0000x"}""", "The string at $.fingerprintId contains the character U+0000")]
    [InlineData("/api/auth/cli/code", """{"fingerprintId":"fp-1","referralCode":"\ud800"}""", "The string at $.referralCode contains an unpaired UTF-16 surrogate")]
    [InlineData("/api/auth/cli/code", """{"fingerprintId":"fp-1","referralCode":"ok\uDE00ok"}""", "The string at $.referralCode contains an unpaired")]
    [InlineData("/api/v1/usage", """{"fingerprintId":"x","\udc00":1}""", "The property name at $ contains an unpaired")]
    [InlineData("/api/v1/usage", """{"fingerprintId":"x","a":[1,{"b":["\u0000"]}]}""", "The string at $.a[1].b[0] contains the character U+0000")]
    public async Task Strings_postgres_cannot_store_answer_400_naming_where_they_are(string path, string json, string message)
    {
        var response = await server.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_body", message);
    }

    [Fact]
    public async Task A_nul_in_an_agent_run_is_refused_and_nothing_is_stored()
    {
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).PostAsync("/api/v1/agent-runs", new StringContent("""{"action":"START","agentId":"a\u0000b"}"""));
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_body", "$.agentId contains the character U+0000");
        await using var db = server.NewDbContext();
        Assert.False(await db.AgentRuns.AnyAsync(r => r.UserId == user.Id));
    }

    [Fact]
    public async Task Escaped_surrogate_pairs_and_other_escapes_are_fine()
    {
        var response = await server.Client.PostAsync("/api/auth/cli/code",
            new StringContent("""{"fingerprintId":"fp-ok","referralCode":"\ud83d\ude00 \u00e9\t\"x\""}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.EndsWith("&referral_code=" + Uri.EscapeDataString("😀 é\t\"x\""), (string?)body["loginUrl"]);
    }
}
