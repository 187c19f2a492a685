namespace Codebuff.Server.Tests.Auth;

public sealed class RateLimitFixture : Infrastructure.ServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:RateLimits:LoginPerMinute"] = "3";
        s["Codebuff:RateLimits:TokensPerMinute"] = "2";
        return s;
    }
}

public sealed class PerCallerRateLimitFixture : Infrastructure.ServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:RateLimits:TokensPerMinute"] = "100";
        s["Codebuff:RateLimits:TokensPerUserPerMinute"] = "2";
        return s;
    }
}

public sealed class PerCallerRateLimitTests(PerCallerRateLimitFixture server) : IClassFixture<PerCallerRateLimitFixture>
{
    [Fact]
    public async Task Token_creation_is_limited_per_caller_and_others_on_the_same_address_go_on()
    {
        var a = server.ClientFor(await server.CreateUserAsync());
        var b = server.ClientFor(await server.CreateUserAsync());
        Assert.Equal(HttpStatusCode.Created, (await a.PostAsJsonAsync("/api/api-keys", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await a.PostAsJsonAsync("/api/api-keys", new { })).StatusCode);
        var limited = await a.PostAsJsonAsync("/api/api-keys", new { });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal($"Too many requests. Try again in {retryAfter} seconds.", (string?)(await limited.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        Assert.Equal(HttpStatusCode.Created, (await b.PostAsJsonAsync("/api/api-keys", new { })).StatusCode);
        // Reads are not counted.
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/api/api-keys")).StatusCode);
    }
}

public sealed class RateLimitTests(RateLimitFixture server) : IClassFixture<RateLimitFixture>
{
    [Fact]
    public async Task Login_codes_beyond_the_limit_get_429_with_retry_after()
    {
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId = $"fp-{i}" })).StatusCode);
        var limited = await server.Client.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId = "fp-4" });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal($"Too many requests. Try again in {retryAfter} seconds.", (string?)(await limited.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
    }

    [Fact]
    public async Task Token_creation_is_limited_separately()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/api-keys", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/api-keys", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsJsonAsync("/api/api-keys", new { })).StatusCode);
    }
}
