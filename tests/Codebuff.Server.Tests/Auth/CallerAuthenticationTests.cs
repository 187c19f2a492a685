using System.Net.Http.Headers;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

/// <summary>A server whose clock the test moves: session expiry follows the injected TimeProvider.</summary>
public sealed class ClockedServerFixture : ServerFixture
{
    public FakeClock Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);
}

/// <summary>
/// The one authentication handler (Auth/CallerAuthentication): which credential counts where, expiry by the server's
/// clock, and personal access tokens on the dashboard's cookie routes.
/// </summary>
public sealed class CallerAuthenticationTests(ClockedServerFixture server) : IClassFixture<ClockedServerFixture>
{
    async Task<string> WebSessionAsync(TestUser user, TimeSpan lifetime)
    {
        var token = Guid.NewGuid().ToString("N");
        await using var db = server.NewDbContext();
        db.Sessions.Add(new Session
        {
            SessionToken = server.Services.GetRequiredService<TokenHasher>().Hash(token), UserId = user.Id, Type = SessionType.Web,
            Expires = server.Clock.GetUtcNow().UtcDateTime + lifetime,
        });
        await db.SaveChangesAsync();
        return token;
    }

    HttpRequestMessage Request(HttpMethod method, string path, string? cookie = null, string? bearer = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (cookie is not null) request.Headers.Add("Cookie", $"{WebSession.Cookie}={cookie}");
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }

    async Task<(HttpStatusCode, string)> SendAsync(HttpRequestMessage request)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        var response = await client.SendAsync(request);
        var body = response.StatusCode == HttpStatusCode.Redirect ? response.Headers.Location!.ToString() : await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body);
    }

    [Fact]
    public async Task A_web_session_expires_by_the_servers_clock()
    {
        var user = await server.CreateUserAsync();
        var cookie = await WebSessionAsync(user, TimeSpan.FromHours(1));
        var (status, body) = await SendAsync(Request(HttpMethod.Get, "/api/user/profile", cookie: cookie));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(user.Id, (string?)JsonNode.Parse(body)!["id"]);

        server.Clock.Advance(TimeSpan.FromHours(2));
        try
        {
            Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Unauthorized"}"""), await SendAsync(Request(HttpMethod.Get, "/api/user/profile", cookie: cookie)));
            Assert.Equal((HttpStatusCode.Redirect, new Uri(server.BaseAddress, "/login?next=%2Fprofile").ToString()), await SendAsync(Request(HttpMethod.Get, "/profile", cookie: cookie)));
            // The personal access token (365 days) still works at the same moment.
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(Request(HttpMethod.Get, "/api/user/profile", bearer: user.ApiKey))).Item1);
        }
        finally
        {
            server.Clock.Advance(TimeSpan.FromHours(-2));
        }
    }

    [Fact]
    public async Task A_personal_access_token_expires_by_the_servers_clock()
    {
        var user = await server.CreateUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Request(HttpMethod.Get, "/api/v1/me", bearer: user.ApiKey))).Item1);
        server.Clock.Advance(TimeSpan.FromDays(400));
        try
        {
            Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Invalid API key or user not found"}"""),
                await SendAsync(Request(HttpMethod.Get, "/api/v1/me", bearer: user.ApiKey)));
        }
        finally
        {
            server.Clock.Advance(TimeSpan.FromDays(-400));
        }
    }

    [Fact]
    public async Task Dashboard_routes_take_the_cookie_first_and_api_key_routes_ignore_it()
    {
        var cookieUser = await server.CreateUserAsync();
        var keyUser = await server.CreateUserAsync();
        var cookie = await WebSessionAsync(cookieUser, TimeSpan.FromDays(1));

        var (_, profile) = await SendAsync(Request(HttpMethod.Get, "/api/user/profile", cookie: cookie, bearer: keyUser.ApiKey));
        Assert.Equal(cookieUser.Id, (string?)JsonNode.Parse(profile)!["id"]);
        var (_, me) = await SendAsync(Request(HttpMethod.Get, "/api/v1/me", cookie: cookie, bearer: keyUser.ApiKey));
        Assert.Equal(keyUser.Id, (string?)JsonNode.Parse(me)!["id"]);
        // A cookie alone does not open an API-key route.
        Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Missing or invalid Authorization header"}"""),
            await SendAsync(Request(HttpMethod.Get, "/api/v1/me", cookie: cookie)));
        // An unknown cookie falls through to the header token, as upstream's lookup does.
        var (_, fallback) = await SendAsync(Request(HttpMethod.Get, "/api/user/profile", cookie: "not-a-session", bearer: keyUser.ApiKey));
        Assert.Equal(keyUser.Id, (string?)JsonNode.Parse(fallback)!["id"]);
    }

    [Fact]
    public async Task A_personal_access_token_drives_the_dashboard_pages_without_an_origin()
    {
        var user = await server.CreateUserAsync();
        using var client = Web.PageForms.Client(server.BaseAddress, bearer: user.ApiKey);
        var page = await client.GetStringAsync("/profile?tab=api-keys");
        Assert.Contains(user.Email, page);

        // A script posts the page's form as a browser would: the page's antiforgery token, no Origin header.
        var (status, answer) = await Web.PageForms.PostAsync(client, "/profile?tab=api-keys", "create-key", new Dictionary<string, string> { ["Create.Days"] = "7" });
        Assert.Equal(HttpStatusCode.OK, status);
        var token = System.Text.RegularExpressions.Regex.Match(answer, "id=\"new-token\"[^>]*value=\"(cb-pat-[0-9a-f]{64})\"").Groups[1].Value;
        var (_, me) = await SendAsync(Request(HttpMethod.Get, "/api/v1/me?fields=email", bearer: token));
        Assert.Equal(user.Email, (string?)JsonNode.Parse(me)!["email"]);
        await using (var db = server.NewDbContext())
        {
            var hash = server.Services.GetRequiredService<TokenHasher>().Hash(token);
            var expires = await db.Sessions.Where(s => s.SessionToken == hash).Select(s => s.Expires).SingleAsync();
            Assert.Equal(server.Clock.GetUtcNow().UtcDateTime.AddDays(7), expires, TimeSpan.FromSeconds(1));
        }

        // Logging out every browser is scriptable too: a header token is never sent by a browser on its own.
        Assert.Equal((HttpStatusCode.OK, """{"ok":true}"""), await SendAsync(Request(HttpMethod.Post, "/api/user/sessions/logout-all", bearer: user.ApiKey)));
    }

    [Fact]
    public async Task A_cookie_cannot_post_the_dashboard_forms_from_another_site()
    {
        var user = await server.CreateUserAsync();
        var cookie = await WebSessionAsync(user, TimeSpan.FromDays(1));
        // Another site can make the browser post with its cookie, but cannot read the page's antiforgery token.
        var create = Request(HttpMethod.Post, "/profile?tab=api-keys", cookie: cookie);
        create.Headers.Add("Origin", "https://evil.example");
        create.Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "create-key", ["Create.Days"] = "7" });
        var (status, page) = await SendAsync(create);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.DoesNotContain("cb-pat-", page);
        // Nor does a token minted for another browser (the attacker's own visit) pass with the victim's cookie.
        using (var attacker = Web.PageForms.Client(server.BaseAddress, webSession: await WebSessionAsync(await server.CreateUserAsync(), TimeSpan.FromDays(1))))
        {
            var stolen = await Web.PageForms.TokenAsync(attacker, "/profile?tab=api-keys");
            using var victim = Web.PageForms.Client(server.BaseAddress, webSession: cookie);
            var (forged, forgedPage) = await Web.PageForms.PostAsync(victim, "/profile?tab=api-keys", "create-key", new Dictionary<string, string> { ["Create.Days"] = "7" }, stolen);
            Assert.Equal(HttpStatusCode.BadRequest, forged);
            Assert.DoesNotContain("cb-pat-", forgedPage);
        }
        await using var db = server.NewDbContext();
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Pat));

        var anonymous = Request(HttpMethod.Post, "/profile?tab=api-keys");
        anonymous.Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "create-key", ["Create.Days"] = "7" });
        var (anonymousStatus, anonymousPage) = await SendAsync(anonymous);
        Assert.Equal(HttpStatusCode.BadRequest, anonymousStatus);
        Assert.DoesNotContain("cb-pat-", anonymousPage);
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Pat));
    }
}
