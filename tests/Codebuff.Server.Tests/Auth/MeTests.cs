using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Auth;

public sealed class MeTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Returns_exactly_the_requested_fields_in_request_order()
    {
        var user = await server.CreateUserAsync();
        var body = await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/v1/me?fields=email, id,banned,referral_link,id");
        Assert.NotNull(body);
        Assert.Equal(["email", "id", "banned", "referral_link"], body.Select(p => p.Key));
        Assert.Equal(user.Id, (string?)body["id"]);
        Assert.Equal(user.Email, (string?)body["email"]);
        Assert.False(body["banned"]!.GetValue<bool>());
        Assert.StartsWith("http://localhost:5000/referrals/ref-", (string?)body["referral_link"]);
    }

    [Fact]
    public async Task Defaults_to_id_only()
    {
        var user = await server.CreateUserAsync();
        var body = await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/v1/me");
        Assert.Equal($$"""{"id":"{{user.Id}}"}""", body!.ToJsonString());
    }

    [Theory]
    [InlineData("/api/v1/me?fields=", "Invalid fields: empty. Valid fields are: id, email, discord_id, referral_code, stripe_customer_id, banned, referral_link, created_at")]
    [InlineData("/api/v1/me?fields=id,password,x", "Invalid fields: password, x. Valid fields are: id, email, discord_id, referral_code, stripe_customer_id, banned, referral_link, created_at")]
    public async Task Rejects_bad_fields_with_400(string url, string error)
    {
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
    }

    [Fact]
    public async Task Missing_and_unknown_tokens_get_401_with_their_messages()
    {
        var missing = await server.Client.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Missing or invalid Authorization header", (string?)(await missing.Content.ReadFromJsonAsync<JsonObject>())!["error"]);

        using var bad = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        bad.Headers.Add("x-codebuff-api-key", "cb-pat-not-a-real-token");
        var unknown = await server.Client.SendAsync(bad);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("Invalid API key or user not found", (string?)(await unknown.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
    }
}
