using System.Net;
using System.Text.RegularExpressions;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Web.Auth;

/// <summary>Posting a dashboard form over HTTP as a browser does: the page first (its antiforgery token and cookie), then the form.</summary>
static class FormPost
{
    public static HttpClient Browser(ServerFixture server) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };

    public static async Task<HttpResponseMessage> PostAsync(HttpClient browser, string pagePath, string formName, Dictionary<string, string> fields, string? postPath = null)
    {
        var page = await browser.GetStringAsync(pagePath);
        var token = Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(token);
        var form = new Dictionary<string, string>(fields) { ["_handler"] = formName, ["__RequestVerificationToken"] = token };
        return await browser.PostAsync(postPath ?? pagePath, new FormUrlEncodedContent(form));
    }
}

public sealed class SignInRateLimitTests(TightPasswordLimitFixture server) : IClassFixture<TightPasswordLimitFixture>
{
    [Fact]
    public async Task Password_posts_are_limited_per_address_but_the_page_still_opens()
    {
        using var browser = FormPost.Browser(server);
        var fields = new Dictionary<string, string> { ["Form.Email"] = $"nobody{Guid.NewGuid():N}@example.com", ["Form.Password"] = "guess-guess" };
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var refused = await FormPost.PostAsync(browser, "/login", "signin", fields);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("Incorrect e-mail or password.", await refused.Content.ReadAsStringAsync());
        }
        var limited = await FormPost.PostAsync(browser, "/login", "signin", fields);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
        var body = await limited.Content.ReadAsStringAsync();
        Assert.Equal("text/html", limited.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<h1>Too many attempts</h1>", body);
        // The same limit covers the other password forms, and opening the pages is never refused.
        var forgot = await FormPost.PostAsync(browser, "/forgot-password", "forgot", new() { ["Form.Email"] = "x@example.com" });
        Assert.Equal(HttpStatusCode.TooManyRequests, forgot.StatusCode);
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/login")).StatusCode);
    }
}

public sealed class ClosedSignupTests(ClosedSignupFixture server) : IClassFixture<ClosedSignupFixture>
{
    [Fact]
    public async Task Without_AllowSignup_the_page_hides_sign_up_and_refuses_its_post()
    {
        using var browser = FormPost.Browser(server);
        var login = await browser.GetStringAsync("/login");
        Assert.DoesNotContain("/signup", login);
        Assert.Contains("Forgot password?", login);

        var page = await browser.GetAsync("/signup");
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("does not take sign-ups", html);
        Assert.DoesNotContain("name=\"Form.Email\"", html);

        var email = $"closed{Guid.NewGuid():N}@example.com";
        // The form is not on the page, so a crafted post (with a valid antiforgery token from another page) names a
        // form that does not exist: the framework refuses it before anything runs.
        var post = await FormPost.PostAsync(browser, "/forgot-password", "signup", new() { ["Form.Email"] = email }, postPath: "/signup");
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        await server.PasswordMailDoneAsync();
        Assert.DoesNotContain(server.Emails, m => m.To == email);
        await using var db = server.NewDbContext();
        Assert.False(await db.VerificationTokens.AnyAsync(t => t.Identifier == "signup:" + email));
        Assert.False(await db.Users.AnyAsync(u => u.Email == email));
    }
}
