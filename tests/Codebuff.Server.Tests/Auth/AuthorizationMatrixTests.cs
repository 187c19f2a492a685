using System.Net.Http.Headers;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

/// <summary>
/// Every authenticated route of the accounts feature, called as: no token, a garbage token, an expired token, a
/// banned user, another user, and the right user — status and body asserted for each.
/// </summary>
public sealed class AuthorizationMatrixTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    public enum Caller { None, Garbage, Expired, Banned, Other, Owner }

    sealed record Route(string Name, HttpMethod Method, string Path, Func<TestUser, object?> Body);

    static readonly Route[] Routes =
    [
        new("me", HttpMethod.Get, "/api/v1/me?fields=id,email", _ => null),
        new("list keys", HttpMethod.Get, "/api/api-keys", _ => null),
        new("create key", HttpMethod.Post, "/api/api-keys", _ => new { name = "ci", expiresInDays = 7 }),
        new("list sessions", HttpMethod.Get, "/api/user/sessions", _ => null),
        new("revoke", HttpMethod.Delete, "/api/sessions", target => new { tokenIds = new[] { target.ApiKey } }),
        new("logout all", HttpMethod.Post, "/api/user/sessions/logout-all", _ => null),
        new("profile", HttpMethod.Get, "/api/user/profile", _ => null),
        new("update profile", HttpMethod.Patch, "/api/user/profile", _ => new { handle = "h" + Guid.NewGuid().ToString("N")[..10] }),
        new("cli logout", HttpMethod.Post, "/api/auth/cli/logout", target => new { userId = target.Id, fingerprintId = "fp-matrix", fingerprintHash = "x" }),
    ];

    public static TheoryData<string, Caller> Cases()
    {
        var data = new TheoryData<string, Caller>();
        foreach (var r in Routes) foreach (var c in Enum.GetValues<Caller>()) data.Add(r.Name, c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Route_answers_each_kind_of_caller(string routeName, Caller caller)
    {
        var route = Routes.Single(r => r.Name == routeName);
        var target = await server.CreateUserAsync(); // whose data the request names
        var token = caller switch
        {
            Caller.None => null,
            Caller.Garbage => "cb-pat-" + new string('0', 64),
            Caller.Expired => await ExpiredTokenAsync(target),
            Caller.Banned => (await BannedAsync(target)).ApiKey,
            Caller.Other => (await server.CreateUserAsync()).ApiKey,
            _ => target.ApiKey,
        };
        using var request = new HttpRequestMessage(route.Method, route.Path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (route.Body(target) is { } body) request.Content = JsonContent.Create(body);
        request.Headers.Add("Origin", server.BaseAddress.GetLeftPart(UriPartial.Authority));

        var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var authenticated = caller is Caller.Banned or Caller.Other or Caller.Owner; // banned users may sign in (api.md §1.3)

        if (!authenticated)
        {
            var (status, expected) = (route.Name, caller) switch
            {
                ("me", Caller.None) => (401, """{"error":"Missing or invalid Authorization header"}"""),
                ("me", _) => (401, """{"error":"Invalid API key or user not found"}"""),
                ("cli logout", Caller.None) => (401, """{"error":"Unauthorized"}"""),
                ("cli logout", _) => (200, """{"success":true}"""), // a token that is not the user's: an idempotent no-op
                ("revoke", _) => (401, "Unauthorized"),
                _ => (401, """{"error":"Unauthorized"}"""),
            };
            Assert.Equal(((HttpStatusCode)status, expected), (response.StatusCode, text));
            await AssertTargetUntouchedAsync(target);
            return;
        }

        if ((route.Name, caller) == ("create key", Caller.Banned))
        {
            // A ban refuses what grants: a new credential is one (Auth/Suspension.cs).
            Assert.Equal((HttpStatusCode.Forbidden, "account_suspended"), (response.StatusCode, (string?)JsonNode.Parse(text)!["error"]));
            return;
        }
        Assert.True(response.IsSuccessStatusCode, $"{route.Name} as {caller}: {(int)response.StatusCode} {text}");
        var json = JsonNode.Parse(text)!;
        var self = caller == Caller.Other ? null : target.Id;
        switch (route.Name)
        {
            case "me":
            case "profile":
            case "update profile":
                if (self is null) Assert.NotEqual(target.Id, (string?)json["id"]);
                else Assert.Equal(target.Id, (string?)json["id"]);
                break;
            case "list keys":
                var ids = json["tokens"]!.AsArray().Select(t => (string?)t!["id"]).ToList();
                Assert.Equal(self is null ? 0 : 1, ids.Count(id => id == server.Services.GetRequiredService<TokenHasher>().Hash(target.ApiKey)));
                Assert.DoesNotContain(json["tokens"]!.AsArray(), t => ((string?)t!["token"])!.Contains(target.ApiKey));
                break;
            case "create key":
                Assert.Matches("^cb-pat-[0-9a-f]{64}$", (string?)json["token"]);
                break;
            case "revoke":
                Assert.Equal(self is null ? 0 : 1, (int)json["revokedTokens"]!);
                break;
            case "cli logout":
                Assert.True(json["success"]!.GetValue<bool>());
                break;
        }
        if (caller == Caller.Other) await AssertTargetUntouchedAsync(target);
    }

    async Task<string> ExpiredTokenAsync(TestUser user)
    {
        var token = TokenHasher.NewPersonalAccessToken();
        await using var db = server.NewDbContext();
        db.Sessions.Add(new Session { SessionToken = server.Services.GetRequiredService<TokenHasher>().Hash(token), UserId = user.Id, Type = SessionType.Pat, Expires = DateTime.UtcNow.AddMinutes(-1) });
        await db.SaveChangesAsync();
        return token;
    }

    async Task<TestUser> BannedAsync(TestUser user)
    {
        await using var db = server.NewDbContext();
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true));
        return user;
    }

    async Task AssertTargetUntouchedAsync(TestUser target)
    {
        await using var db = server.NewDbContext();
        var hash = server.Services.GetRequiredService<TokenHasher>().Hash(target.ApiKey);
        Assert.True(await db.Sessions.AnyAsync(s => s.SessionToken == hash), "the target's token must survive");
        Assert.Null((await db.Users.SingleAsync(u => u.Id == target.Id)).Handle);
        var now = DateTime.UtcNow;
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == target.Id && s.Type == SessionType.Pat && s.Expires > now));
    }

    public enum CookieCaller { Garbage, Expired, Owner, SecureOwner }

    public static TheoryData<string, CookieCaller> CookieCases()
    {
        var data = new TheoryData<string, CookieCaller>();
        foreach (var r in Routes.Where(r => r.Name is not ("me" or "cli logout")))
            foreach (var c in Enum.GetValues<CookieCaller>()) data.Add(r.Name, c);
        return data;
    }

    /// <summary>The dashboard routes authenticate with the web cookie (api.md §1.4, §5) under either cookie name.</summary>
    [Theory]
    [MemberData(nameof(CookieCases))]
    public async Task Dashboard_route_answers_the_web_cookie(string routeName, CookieCaller caller)
    {
        var route = Routes.Single(r => r.Name == routeName);
        var target = await server.CreateUserAsync();
        var webToken = caller == CookieCaller.Garbage ? "not-a-session" : await server.WebSessionTokenAsync(target, caller == CookieCaller.Expired ? TimeSpan.FromMinutes(-1) : null);
        var cookie = caller == CookieCaller.SecureOwner ? WebSession.SecureCookie : WebSession.Cookie;
        using var request = new HttpRequestMessage(route.Method, route.Path);
        request.Headers.Add("Cookie", $"{cookie}={webToken}");
        if (route.Body(target) is { } body) request.Content = JsonContent.Create(body);
        request.Headers.Add("Origin", server.BaseAddress.GetLeftPart(UriPartial.Authority));

        var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (caller is CookieCaller.Garbage or CookieCaller.Expired)
        {
            Assert.Equal((HttpStatusCode.Unauthorized, route.Name == "revoke" ? "Unauthorized" : """{"error":"Unauthorized"}"""), (response.StatusCode, text));
            await AssertTargetUntouchedAsync(target);
            return;
        }
        Assert.True(response.IsSuccessStatusCode, $"{route.Name} by cookie: {(int)response.StatusCode} {text}");
        var json = JsonNode.Parse(text)!;
        switch (route.Name)
        {
            case "profile" or "update profile":
                Assert.Equal(target.Id, (string?)json["id"]);
                break;
            case "list sessions":
                Assert.Single(json["activeSessions"]!.AsArray(), s => s!["isCurrent"]!.GetValue<bool>() && (string?)s["sessionType"] == "web");
                break;
            case "revoke":
                Assert.Equal(1, (int)json["revokedTokens"]!);
                break;
            case "create key":
                await using (var db = server.NewDbContext())
                    Assert.Equal(2, await db.Sessions.CountAsync(s => s.UserId == target.Id && s.Type == SessionType.Pat));
                break;
        }
    }

    [Fact]
    public async Task Banned_users_are_refused_where_the_spec_says_chat_completions()
    {
        var user = await BannedAsync(await server.CreateUserAsync(credits: 10));
        var response = await server.ClientFor(user).PostAsJsonAsync("/api/v1/chat/completions", new { model = "m", messages = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("account_suspended", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
    }
}
