using System.Text;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Http;

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
        var user = await server.CreateUserAsync(credits: 100);
        var response = await server.ClientFor(user).PostAsync("/api/v1/chat/completions", new StringContent(ChatBody(DefaultLimit - 1024), Encoding.UTF8, "application/json"));
        // The chat route's own answer (api.md §2.5.3) about the body's run: the whole body was read and handed on.
        Assert.Equal((HttpStatusCode.BadRequest, """{"message":"runId Not Found: r"}"""), (response.StatusCode, await response.Content.ReadAsStringAsync()));
    }

    /// <summary>
    /// Without a credential header a body may be 64 KiB: a request declaring 10 MB (or sending chunks past 64 KiB) is
    /// answered 413 at once, without the server waiting for — or reading — the rest. Before, the server read (and
    /// buffered) the whole body before anything looked at who sent it: here it would wait for bytes never sent. A
    /// credential header that names nobody (made up, expired) counts as none: before, its mere presence lifted the limit.
    /// </summary>
    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, "Authorization: Bearer cb-pat-not-a-real-key")]
    [InlineData(true, "x-codebuff-api-key: made-up")]
    public async Task Without_a_credential_a_body_over_64_kib_is_refused_before_the_rest_is_read(bool chunked, string? madeUpCredential)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/v1/chat/completions HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\n"
                   + (madeUpCredential is null ? "" : madeUpCredential + "\r\n")
                   + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : $"Content-Length: {DefaultLimit - 1}\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        if (chunked)
        {
            var part = new string('x', 100 * 1024);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{part.Length:x}\r\n{part}\r\n")); // and never the final chunk
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var answer = await ReadResponseAsync(stream, timeout.Token);
        Assert.StartsWith("HTTP/1.1 413", answer.Head);
        Assert.Contains("Connection: close", answer.Head, StringComparison.OrdinalIgnoreCase);
        var body = JsonNode.Parse(answer.Body)!;
        Assert.Equal("payload_too_large", (string?)body["error"]);
        Assert.Equal("Without a valid credential (an Authorization or x-codebuff-api-key header, or the session cookie) the request body may be at most 65536 bytes.",
            (string?)body["message"]);
    }

    /// <summary>Small bodies without a credential still reach the endpoint (a bad body's 400 before the 401), and a
    /// route that takes a legacy body authToken still takes a body larger than 64 KiB.</summary>
    [Fact]
    public async Task Without_a_credential_small_bodies_and_body_auth_tokens_still_work()
    {
        var bad = await server.Client.PostAsync("/api/v1/chat/completions", new StringContent("{" + new string(' ', 60 * 1024), Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode.BadRequest, """{"message":"Invalid JSON in request body"}"""), (bad.StatusCode, await bad.Content.ReadAsStringAsync()));
        var small = await server.Client.PostAsync("/api/v1/chat/completions", new StringContent(ChatBody(60 * 1024), Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode.Unauthorized, """{"message":"Unauthorized"}"""), (small.StatusCode, await small.Content.ReadAsStringAsync()));

        var user = await server.CreateUserAsync(credits: 100);
        var body = new JsonObject { ["fingerprintId"] = "fp-body-token", ["padding"] = new string('p', 100 * 1024), ["authToken"] = user.ApiKey };
        var usage = await server.Client.PostAsync("/api/v1/usage", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, usage.StatusCode);
        Assert.Equal(100, (int)(await usage.Content.ReadFromJsonAsync<JsonObject>())!["remainingBalance"]!);
    }

    /// <summary>A number no double holds answers 400 naming where it is, on every route (it used to be a 500 wherever a handler read it).</summary>
    [Theory]
    [InlineData("/api/v1/usage", """{"fingerprintId":"x","orgId":1e400}""", "The number at $.orgId is out of range.")]
    [InlineData("/api/auth/cli/code", """{"fingerprintId":"fp","a":[1,-1e999]}""", "The number at $.a[1] is out of range.")]
    public async Task Numbers_out_of_range_answer_400_naming_where_they_are(string path, string json, string message)
    {
        var response = await server.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_body", message);
    }

    /// <summary>The answer of a connection the server closes after it (Connection: close): its head, and its JSON body.</summary>
    static async Task<(string Head, string Body)> ReadResponseAsync(Stream stream, CancellationToken ct)
    {
        using var all = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, ct)) > 0) all.Write(buffer, 0, read);
        }
        catch (IOException) { } // reset after the answer: the rest of our body was never read
        var text = Encoding.UTF8.GetString(all.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"no answer: {text}");
        var rest = text[(end + 4)..];
        return (text[..end], rest[rest.IndexOf('{')..(rest.LastIndexOf('}') + 1)]);
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
