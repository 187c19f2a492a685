using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

public sealed class TokenStorageTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    /// <summary>A copy of the session table must not hand out working tokens: no stored value authenticates.</summary>
    [Fact]
    public async Task No_stored_session_value_works_as_a_token()
    {
        var user = await server.CreateUserAsync();
        var created = await (await server.ClientFor(user).PostAsJsonAsync("/api/api-keys", new { expiresInDays = 30 })).Content.ReadFromJsonAsync<JsonObject>();
        var pat = (string)created!["token"]!;
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "rest", null, $"rest{Guid.NewGuid():N}@example.com");
        using (var browser = server.Browserish(out _)) await browser.GetAsync("/api/auth/signin/github");

        await using var db = server.NewDbContext();
        var stored = await db.Sessions.Select(s => s.SessionToken).ToListAsync();
        Assert.True(stored.Count >= 3);
        Assert.DoesNotContain(pat, stored);
        Assert.DoesNotContain(user.ApiKey, stored);
        foreach (var value in stored)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
            request.Headers.Add("x-codebuff-api-key", value);
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.SendAsync(request)).StatusCode);
        }
        // …while the raw tokens do work.
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user with { ApiKey = pat }).GetAsync("/api/v1/me")).StatusCode);
    }
}
