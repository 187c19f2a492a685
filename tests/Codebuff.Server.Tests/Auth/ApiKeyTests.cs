using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

public sealed class ApiKeyTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Fact]
    public async Task Create_list_and_revoke_personal_access_tokens()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var created = await client.PostAsJsonAsync("/api/api-keys", new { name = "laptop", expiresInDays = 10 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var token = (string)body["token"]!;
        Assert.Equal("API Key created successfully", (string?)body["message"]);
        Assert.InRange(DateTime.Parse((string)body["expires"]!).ToUniversalTime(), DateTime.UtcNow.AddDays(9.99), DateTime.UtcNow.AddDays(10.01));

        var list = (await client.GetFromJsonAsync<JsonObject>("/api/api-keys"))!["tokens"]!.AsArray();
        Assert.Equal(2, list.Count); // the operator-created key and this one
        Assert.All(list, t =>
        {
            Assert.Equal("pat", (string?)t!["type"]);
            Assert.DoesNotContain(token, t.ToJsonString());
            Assert.Null(t["createdAt"]?.GetValue<string>());
        });

        var newest = list.Single(t => t!["id"]!.GetValue<string>() != server.Services.GetRequiredService<Codebuff.Server.Auth.TokenHasher>().Hash(user.ApiKey))!;
        var revoke = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/sessions") { Content = JsonContent.Create(new { tokenIds = new[] { (string)newest["id"]! } }) });
        Assert.Equal("""{"revokedSessions":0,"revokedTokens":1}""", await revoke.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(user with { ApiKey = token }).GetAsync("/api/v1/me")).StatusCode);
    }

    [Theory]
    [InlineData("""{"expiresInDays":0}""")]
    [InlineData("""{"expiresInDays":366}""")]
    [InlineData("""{"expiresInDays":1.5}""")]
    [InlineData("""{"name":""}""")]
    [InlineData("""not json""")]
    public async Task Bad_token_requests_get_400_and_create_nothing(string json)
    {
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).PostAsync("/api/api-keys", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid request body", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        await using var db = server.NewDbContext();
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id));
    }

    [Fact]
    public async Task Sessions_are_listed_without_tokens_and_logout_all_needs_the_same_origin()
    {
        var email = $"s{Guid.NewGuid():N}@example.com";
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "sess", null, email);
        using var first = server.Browserish(out _);
        using var second = server.Browserish(out _);
        await first.GetAsync("/api/auth/signin/github");
        await second.GetAsync("/api/auth/signin/github");

        var sessions = (await first.GetFromJsonAsync<JsonObject>("/api/user/sessions"))!["activeSessions"]!.AsArray();
        Assert.Equal(2, sessions.Count);
        Assert.Single(sessions, s => s!["isCurrent"]!.GetValue<bool>());
        Assert.All(sessions, s => Assert.Equal("web", (string?)s!["sessionType"]));
        Assert.All(sessions, s => Assert.Matches("^••••[0-9a-f]{4}$", (string?)s!["label"]));

        var crossSite = new HttpRequestMessage(HttpMethod.Post, "/api/user/sessions/logout-all");
        crossSite.Headers.Add("Origin", "https://evil.example");
        var refused = await first.SendAsync(crossSite);
        Assert.Equal((HttpStatusCode.Forbidden, """{"error":"Forbidden - not same origin, cannot logout all sessions"}"""), (refused.StatusCode, await refused.Content.ReadAsStringAsync()));

        var sameSite = new HttpRequestMessage(HttpMethod.Post, "/api/user/sessions/logout-all");
        sameSite.Headers.Add("Origin", server.BaseAddress.GetLeftPart(UriPartial.Authority));
        Assert.Equal("""{"ok":true}""", await (await first.SendAsync(sameSite)).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/api/user/sessions")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.GetAsync("/api/user/sessions")).StatusCode);
    }

    [Fact]
    public async Task Profile_handles_are_validated_and_unique()
    {
        var a = await server.CreateUserAsync();
        var b = await server.CreateUserAsync();
        var handle = "dev_" + Guid.NewGuid().ToString("N")[..8];
        var ok = await server.ClientFor(a).PatchAsJsonAsync("/api/user/profile", new { handle = handle.ToUpperInvariant() });
        var profile = (await ok.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(handle, (string?)profile["handle"]);
        Assert.Equal((500, 2000), ((int)profile["auto_topup_threshold"]!, (int)profile["auto_topup_amount"]!));
        Assert.StartsWith("ref-", (string?)profile["referral_code"]);

        var taken = await server.ClientFor(b).PatchAsJsonAsync("/api/user/profile", new { handle });
        Assert.Equal((HttpStatusCode.Conflict, """{"error":"This handle is already taken"}"""), (taken.StatusCode, await taken.Content.ReadAsStringAsync()));
        var invalid = await server.ClientFor(b).PatchAsJsonAsync("/api/user/profile", new { handle = "no spaces!" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("Invalid handle", (string?)(await invalid.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        await using var db = server.NewDbContext();
        Assert.Null((await db.Users.SingleAsync(u => u.Id == b.Id)).Handle);
    }

    [Fact]
    public async Task Revoking_a_cli_session_unclaims_its_fingerprint_and_kills_its_token()
    {
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "revoker", null, $"rv{Guid.NewGuid():N}@example.com");
        using var browser = server.Browserish(out _);
        await browser.GetAsync("/api/auth/signin/github");
        var fingerprint = "codebuff-cli-" + Guid.NewGuid().ToString("N")[..8];
        var code = (await (await server.Client.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId = fingerprint })).Content.ReadFromJsonAsync<JsonObject>())!;
        await CliLoginBrowser.ConfirmAsync(browser, (string)code["loginUrl"]!);
        var status = await server.Client.GetFromJsonAsync<JsonObject>(
            $"/api/auth/cli/status?fingerprintId={fingerprint}&fingerprintHash={code["fingerprintHash"]}&expiresAt={code["expiresAt"]}");
        var cliToken = (string)status!["user"]!["authToken"]!;

        var sessions = (await browser.GetFromJsonAsync<JsonObject>("/api/user/sessions"))!["activeSessions"]!.AsArray();
        var cli = Assert.Single(sessions, s => (string?)s!["sessionType"] == "cli")!;
        Assert.Equal(fingerprint, (string?)cli["fingerprintId"]);
        Assert.NotNull((string?)cli["createdAt"]);

        var revoke = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/sessions") { Content = JsonContent.Create(new { sessionIds = new[] { (string)cli["id"]! } }) });
        Assert.Equal("""{"revokedSessions":1,"revokedTokens":0}""", await revoke.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(new Infrastructure.TestUser("", "", cliToken)).GetAsync("/api/v1/me")).StatusCode);
        await using var db = server.NewDbContext();
        Assert.Null((await db.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/user/sessions")).StatusCode); // the web session stays
    }

    [Fact]
    public async Task No_body_means_defaults_but_a_malformed_streamed_body_is_refused()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var empty = await client.PostAsync("/api/api-keys", null);
        Assert.Equal(HttpStatusCode.Created, empty.StatusCode);
        var expires = DateTime.Parse((string)(await empty.Content.ReadFromJsonAsync<JsonObject>())!["expires"]!).ToUniversalTime();
        Assert.InRange(expires, DateTime.UtcNow.AddDays(364.99), DateTime.UtcNow.AddDays(365.01));

        // No Content-Length (chunked): the body is still read and judged.
        var chunked = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes("{\"expiresInDays\":")));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/api-keys") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var refused = await client.SendAsync(request);
        Assert.Equal((HttpStatusCode.BadRequest, """{"error":"Invalid request body"}"""), (refused.StatusCode, await refused.Content.ReadAsStringAsync()));
        await using var db = server.NewDbContext();
        Assert.Equal(2, await db.Sessions.CountAsync(s => s.UserId == user.Id));
    }
}
