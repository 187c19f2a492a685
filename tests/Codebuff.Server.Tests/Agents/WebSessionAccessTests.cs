using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

/// <summary>The dashboard's cookie session reaches the publisher and publish routes through the one caller lookup.</summary>
public sealed class WebSessionAccessTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    /// <summary>A client carrying only a web session cookie (no header token) for a session row written straight to the database.</summary>
    async Task<HttpClient> CookieClientAsync(TestUser user, DateTime expires)
    {
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var hasher = server.Services.GetRequiredService<TokenHasher>();
        await using (var db = server.NewDbContext())
        {
            db.Sessions.Add(new Session { SessionToken = hasher.Hash(token), UserId = user.Id, Type = SessionType.Web, Expires = expires });
            await db.SaveChangesAsync();
        }
        var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Add("Cookie", $"{WebSession.Cookie}={token}");
        return client;
    }

    [Fact]
    public async Task A_web_session_creates_lists_updates_and_publishes()
    {
        var user = await server.CreateUserAsync();
        using var client = await CookieClientAsync(user, DateTime.UtcNow.AddDays(1));

        var id = NewId("web");
        var created = await client.PostAsJsonAsync("/api/publishers", new { id, name = "Web Publisher" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(user.Id, (string?)(await BodyAsync(created))["user_id"]);

        var mine = await client.GetFromJsonAsync<JsonArray>("/api/publishers");
        Assert.Equal([id], mine!.Select(p => (string?)p!["id"]));

        var patched = await client.PatchAsJsonAsync($"/api/publishers/{id}", new { bio = "from the dashboard" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);

        var published = await PublishAsync(client, Def("web-agent", id));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        AssertJson($$"""{"success":true,"publisherId":"{{id}}","agents":[{"id":"web-agent","version":"0.0.1","displayName":"Agent web-agent"}]}""", await BodyAsync(published));

        await using var db = server.NewDbContext();
        var row = await db.Publishers.SingleAsync(p => p.Id == id);
        Assert.Equal("from the dashboard", row.Bio);
        Assert.Equal(["0.0.1"], await VersionsAsync(server, id, "web-agent"));
    }

    [Fact]
    public async Task An_expired_web_session_is_no_caller()
    {
        var user = await server.CreateUserAsync();
        var pub = await CreatePublisherAsync(server, user);
        using var client = await CookieClientAsync(user, DateTime.UtcNow.AddMinutes(-1));

        var list = await client.GetAsync("/api/publishers");
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        AssertJson("""{"error":"Unauthorized"}""", await BodyAsync(list));

        var published = await PublishAsync(client, Def("late-agent", pub));
        Assert.Equal(HttpStatusCode.Unauthorized, published.StatusCode);
        AssertJson("""{"error":"Unauthorized"}""", await BodyAsync(published));
        Assert.Empty(await VersionsAsync(server, pub, "late-agent"));
    }
}
