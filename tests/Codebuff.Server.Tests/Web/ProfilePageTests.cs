using Codebuff.Server.Tests.Auth;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Web;

/// <summary>The dashboard's profile page in Chromium: sign in with (fake) GitHub, see credits, make and revoke a key.</summary>
public sealed class ProfilePageTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Fact]
    public async Task Sign_in_see_credits_create_and_revoke_an_api_key()
    {
        var email = $"page{Guid.NewGuid():N}@example.com";
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "pager", "Page User", email);
        await using var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(new Uri(server.BaseAddress, "/profile").ToString());
        await page.ClickAsync("#github-signin"); // /profile → /login → GitHub → home
        await page.WaitForSelectorAsync("#email");
        Assert.Equal(new Uri(server.BaseAddress, "/").ToString(), page.Url);
        Assert.Equal(email, await page.InnerTextAsync("#email"));
        await page.ClickAsync("text=Credits, API keys and sessions");

        Assert.Equal("500", await page.InnerTextAsync("#remaining")); // the sign-up grant
        Assert.Contains("free", await page.InnerTextAsync("#breakdown"));
        Assert.Contains("this browser", await page.InnerTextAsync("#session-list"));

        await page.FillAsync("#create-key input[name=days]", "30");
        await page.ClickAsync("#create-key button");
        var token = await page.InnerTextAsync("#new-token");
        Assert.Matches("^cb-pat-[0-9a-f]{64}$", token);
        var keyClient = server.ClientFor(new TestUser("", email, token));
        Assert.Equal(email, (string?)(await keyClient.GetFromJsonAsync<JsonObject>("/api/v1/me?fields=email"))!["email"]);

        // Reloading never shows the key again; revoking it from the table ends it.
        await page.GotoAsync(new Uri(server.BaseAddress, "/profile").ToString());
        Assert.Equal(0, await page.Locator("#new-token").CountAsync());
        Assert.DoesNotContain(token, await page.ContentAsync());
        await page.ClickAsync("#tokens button");
        await page.WaitForURLAsync("**/profile#api-keys");
        Assert.Equal(1, await page.Locator("#tokens tr").CountAsync()); // the header row only
        Assert.Equal(HttpStatusCode.Unauthorized, (await keyClient.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task Cross_site_form_posts_are_refused()
    {
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "x", null, $"x{Guid.NewGuid():N}@example.com");
        using var browser = server.Browserish(out _);
        await browser.GetAsync("/api/auth/signin/github");
        using var post = new HttpRequestMessage(HttpMethod.Post, "/profile/api-keys") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["days"] = "5" }) };
        post.Headers.Add("Origin", "https://evil.example");
        var refused = await browser.SendAsync(post);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain("cb-pat-", await refused.Content.ReadAsStringAsync());
        var keys = (await browser.GetFromJsonAsync<JsonObject>("/api/api-keys"))!["tokens"]!.AsArray();
        Assert.Empty(keys);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("366")]
    [InlineData("ten")]
    public async Task A_key_form_with_a_bad_expiry_is_refused_and_creates_nothing(string days)
    {
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "d", null, $"d{Guid.NewGuid():N}@example.com");
        using var browser = server.Browserish(out _);
        await browser.GetAsync("/api/auth/signin/github");
        using var post = new HttpRequestMessage(HttpMethod.Post, "/profile/api-keys") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["days"] = days }) };
        post.Headers.Add("Origin", server.BaseAddress.GetLeftPart(UriPartial.Authority));
        var response = await browser.SendAsync(post);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("A key lives for 1 to 365 days.", await response.Content.ReadAsStringAsync());
        Assert.Empty((await browser.GetFromJsonAsync<JsonObject>("/api/api-keys"))!["tokens"]!.AsArray());
    }
}
