using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

public sealed class GitHubSignInTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Fact]
    public async Task First_sign_in_creates_user_account_session_and_free_grant_and_the_second_reuses_them()
    {
        var id = Random.Shared.NextInt64(1_000_000, 9_000_000);
        var email = $"gh{id}@example.com";
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(id, $"dev{id}", "Dev Eloper", email);
        using var browser = server.Browserish(out var cookies);

        var page = await browser.GetAsync("/api/auth/signin/github?callbackUrl=%2Fonboard");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("/onboard", page.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Contains($"signed in as {email}", await page.Content.ReadAsStringAsync());
        var cookie = cookies.GetCookies(server.BaseAddress)["next-auth.session-token"];
        Assert.NotNull(cookie);
        Assert.True(cookie.HttpOnly);

        await using var db = server.NewDbContext();
        var user = await db.Users.SingleAsync(u => u.Email == email);
        Assert.Equal(("Dev Eloper", $"https://avatars.example/{id}"), (user.Name, user.Image));
        Assert.NotNull(user.EmailVerified);
        var account = await db.Accounts.SingleAsync(a => a.UserId == user.Id);
        Assert.Equal(("oauth", "github", id.ToString()), (account.Type, account.Provider, account.ProviderAccountId));
        var session = await db.Sessions.SingleAsync(s => s.UserId == user.Id);
        Assert.Equal(SessionType.Web, session.Type);
        Assert.InRange(session.Expires, DateTime.UtcNow.AddDays(29.9), DateTime.UtcNow.AddDays(30.1));
        var grant = await db.CreditLedger.SingleAsync(g => g.UserId == user.Id);
        Assert.Equal((GrantType.Free, 500, 500, 20, user.NextQuotaReset), (grant.Type, grant.Principal, grant.Balance, grant.Priority, grant.ExpiresAt));
        Assert.Matches($"^free-{user.Id}-[A-Za-z0-9_-]{{11}}$", grant.OperationId);
        // This server has no Stripe key: no customer, and nothing recorded as a failure to retry.
        Assert.Null(user.StripeCustomerId);
        Assert.False(await db.SyncFailures.AnyAsync(f => f.Id == user.Id));

        // The cookie authenticates dashboard routes.
        var profile = await browser.GetFromJsonAsync<JsonObject>("/api/user/profile");
        Assert.Equal(email, (string?)profile!["email"]);

        // Signing in again: same user, no second grant, a second web session.
        using var again = server.Browserish(out _);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/auth/signin/github?callbackUrl=%2F")).StatusCode);
        Assert.Equal(1, await db.Users.CountAsync(u => u.Email == email));
        Assert.Equal(1, await db.CreditLedger.CountAsync(g => g.UserId == user.Id));
        Assert.Equal(2, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));

        // Sign-out ends this browser's session only.
        var signout = await browser.PostAsync("/api/auth/signout", null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/user/profile")).StatusCode);
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));
        Assert.True(signout.IsSuccessStatusCode || signout.StatusCode == HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Simultaneous_first_sign_ins_of_one_identity_make_one_user_and_one_grant()
    {
        for (var round = 0; round < 4; round++)
        {
            var id = Random.Shared.NextInt64(100_000_000, 900_000_000);
            var email = $"twin{id}@example.com";
            server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(id, $"twin{id}", null, email);
            using var a = server.Browserish(out _);
            using var b = server.Browserish(out _);
            var pages = await Task.WhenAll(a.GetAsync("/api/auth/signin/github"), b.GetAsync("/api/auth/signin/github"));
            foreach (var page in pages)
                Assert.Contains($"Signed in as <strong id=\"email\">{email}</strong>", await page.Content.ReadAsStringAsync());

            await using var db = server.NewDbContext();
            var user = await db.Users.SingleAsync(u => u.Email == email);
            Assert.Equal(1, await db.Accounts.CountAsync(x => x.Provider == "github" && x.ProviderAccountId == id.ToString()));
            Assert.Equal(1, await db.CreditLedger.CountAsync(g => g.UserId == user.Id));
            Assert.Equal(2, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));
        }
    }

    [Fact]
    public async Task A_verified_github_email_links_to_an_existing_user_without_a_second_grant()
    {
        var existing = await server.CreateUserAsync(credits: 5);
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(10_000_000, 90_000_000), "linked", null, existing.Email);
        using var browser = server.Browserish(out _);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/auth/signin/github")).StatusCode);
        await using var db = server.NewDbContext();
        Assert.Equal(existing.Id, (await db.Accounts.SingleAsync(a => a.ProviderAccountId == server.GitHub.NextUser.Id.ToString())).UserId);
        Assert.Equal(1, await db.CreditLedger.CountAsync(g => g.UserId == existing.Id));
    }

    [Fact]
    public async Task An_unverified_email_creates_nothing()
    {
        var id = Random.Shared.NextInt64(100_000_000, 900_000_000);
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(id, "unverified", null, $"u{id}@example.com", Verified: false);
        using var browser = server.Browserish(out _);
        var page = await browser.GetAsync("/api/auth/signin/github");
        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
        Assert.Contains("no verified e-mail", await page.Content.ReadAsStringAsync());
        await using var db = server.NewDbContext();
        Assert.False(await db.Users.AnyAsync(u => u.Email == $"u{id}@example.com"));
        Assert.False(await db.Accounts.AnyAsync(a => a.ProviderAccountId == id.ToString()));
    }

    [Fact]
    public async Task A_callback_without_the_matching_state_is_refused_before_github_is_asked()
    {
        var before = server.GitHub.Exchanges;
        using var browser = server.Browserish(out _);
        var forged = await browser.GetAsync("/api/auth/callback/github?code=abc&state=forged");
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("did not start here", await forged.Content.ReadAsStringAsync());
        Assert.Equal(before, server.GitHub.Exchanges);
    }

    [Fact]
    public async Task The_return_path_cannot_leave_the_site()
    {
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1_000_000_000, 9_000_000_000), "r", null, $"r{Guid.NewGuid():N}@example.com");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = server.BaseAddress };
        var start = await client.GetAsync("/api/auth/signin/github?callbackUrl=" + Uri.EscapeDataString("//evil.example/x"));
        var authorize = await client.GetAsync(start.Headers.Location);
        var callback = await client.GetAsync(authorize.Headers.Location);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/", callback.Headers.Location!.OriginalString);
    }
}
