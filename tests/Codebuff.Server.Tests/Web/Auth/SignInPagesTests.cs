using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web.Auth;

/// <summary>E-mail and password accounts in Chromium: sign-up by link, sign-in, sign-out, reset, the CLI login.</summary>
public sealed class SignInPagesTests(LocalAuthFixture server) : IClassFixture<LocalAuthFixture>
{
    const string Password = "correct horse battery";

    static string NewEmail() => $"local{Guid.NewGuid():N}@example.com";

    /// <summary>Clicks a button that loads another document (a form post) and waits for that document's heading.</summary>
    static async Task SubmitAsync(DashboardTab tab, string button)
    {
        var navigated = new TaskCompletionSource();
        void OnNavigated(object? sender, IFrame frame) { if (frame == tab.Page.MainFrame) navigated.TrySetResult(); }
        tab.Page.FrameNavigated += OnNavigated;
        try
        {
            await tab.Page.ClickAsync(button);
            await navigated.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            tab.Page.FrameNavigated -= OnNavigated;
        }
        await tab.Page.Locator("h1").WaitForAsync();
        await tab.ScreenshotAsync();
    }

    static async Task SignInAsync(DashboardTab tab, string email, string password, string path = "/login")
    {
        await tab.GotoAsync(path);
        await tab.Page.FillAsync("#email", email);
        await tab.Page.FillAsync("#password", password);
        await SubmitAsync(tab, "#signin");
    }

    async Task<string?> SessionCookieAsync(DashboardTab tab) =>
        (await tab.Page.Context.CookiesAsync()).FirstOrDefault(c => c.Name == WebSession.Cookie)?.Value;

    /// <summary>A user with a password, made as an operator makes one: the admin command's own code.</summary>
    async Task<string> CreateUserWithPasswordAsync(string email, string password)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var created = await Codebuff.Server.Admin.AdminCommands.CreateUserAsync(scope.ServiceProvider, email, "Pat Local", null, null, CancellationToken.None, password);
        return created.userId;
    }

    [Fact]
    public async Task Sign_up_by_link_then_sign_out_then_sign_in()
    {
        var email = NewEmail();
        await using var tab = await DashboardTab.OpenAsync(server);
        await tab.GotoAsync("/login");
        Assert.Equal("Login", await tab.HeadingAsync());
        Assert.Equal(1, await tab.Page.Locator("#github-signin").CountAsync()); // GitHub is configured on this server
        Assert.Equal("/signup", await tab.Page.GetAttributeAsync("#signup-link", "href"));
        await tab.GotoAsync("/signup");
        Assert.Equal("Create an account", await tab.HeadingAsync());
        await tab.Page.FillAsync("#email", email.ToUpperInvariant());
        await SubmitAsync(tab, "#signup");
        Assert.Contains("Check your e-mail", await tab.Page.InnerTextAsync("#check-email"));

        var mail = await server.SingleEmailToAsync(email);
        Assert.Equal("Finish creating your Codebuff account", mail.Subject);
        await tab.GotoAsync(LocalAuthFixture.LinkPath(mail));
        Assert.Equal("Finish creating your account", await tab.HeadingAsync());
        Assert.Contains(email, await tab.Page.InnerTextAsync("main"));
        await tab.Page.FillAsync("#password", Password);
        await tab.Page.FillAsync("#confirm", Password);
        await SubmitAsync(tab, "#set-password");
        Assert.Equal("Welcome to Codebuff", await tab.HeadingAsync());
        Assert.Equal(email, await tab.Page.InnerTextAsync("strong#email"));

        string userId;
        await using (var db = server.NewDbContext())
        {
            var user = await db.Users.SingleAsync(u => u.Email == email);
            userId = user.Id;
            // Identity's hash (format v3, base64), never the password itself.
            Assert.StartsWith("AQAAAA", user.Password);
            Assert.DoesNotContain(Password, user.Password);
            Assert.Equal(PasswordVerificationResult.Success, new PasswordHasher<User>().VerifyHashedPassword(user, user.Password!, Password));
            Assert.NotNull(user.EmailVerified);
            // What a GitHub sign-up gets: the free grant, expiring at the quota reset.
            var grant = await db.CreditLedger.SingleAsync(g => g.UserId == user.Id);
            Assert.Equal((GrantType.Free, 500, user.NextQuotaReset), (grant.Type, grant.Principal, grant.ExpiresAt));
            Assert.False(await db.VerificationTokens.AnyAsync(t => t.Identifier == "signup:" + email));
            Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));
        }

        // Sign out from the navbar of the new pages.
        await SubmitAsync(tab, "header button:has-text('Sign out')");
        Assert.Equal(1, await tab.Page.Locator("header a[href='/login']").CountAsync());
        await using (var db = server.NewDbContext())
            Assert.False(await db.Sessions.AnyAsync(s => s.UserId == userId && s.Type == SessionType.Web));

        await SignInAsync(tab, email, Password);
        Assert.Equal("Welcome to Codebuff", await tab.HeadingAsync());
        Assert.NotNull(await SessionCookieAsync(tab));

        // Signing up again with the same address tells nothing new on the page; the mail offers a reset instead.
        await using var other = await DashboardTab.OpenAsync(server);
        await other.GotoAsync("/signup");
        await other.Page.FillAsync("#email", email);
        await SubmitAsync(other, "#signup");
        Assert.Contains("Check your e-mail", await other.Page.InnerTextAsync("#check-email"));
        await server.PasswordMailDoneAsync();
        var second = Assert.Single(server.Emails, m => m.To == email && m != mail);
        Assert.Equal("Reset your Codebuff password", second.Subject);
        Assert.Contains("already has one", second.Text);
    }

    [Fact]
    public async Task Wrong_password_unknown_email_and_banned_user_are_refused_without_a_cookie()
    {
        var email = NewEmail();
        var userId = await CreateUserWithPasswordAsync(email, Password);
        await using var tab = await DashboardTab.OpenAsync(server);

        await SignInAsync(tab, email, "wrong password!");
        var wrong = await tab.Page.InnerTextAsync("#signin-error");
        await SignInAsync(tab, NewEmail(), Password);
        var unknown = await tab.Page.InnerTextAsync("#signin-error");
        Assert.Equal(("Incorrect e-mail or password.", "Incorrect e-mail or password."), (wrong, unknown));
        Assert.Null(await SessionCookieAsync(tab));
        Assert.Equal("Login", await tab.HeadingAsync());
        Assert.Equal("", await tab.Page.InputValueAsync("#password")); // the password is never sent back

        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true));
        await SignInAsync(tab, email, Password);
        Assert.Contains("suspended", await tab.Page.InnerTextAsync("#signin-error"));
        Assert.Null(await SessionCookieAsync(tab));
        await using (var db = server.NewDbContext())
            Assert.False(await db.Sessions.AnyAsync(s => s.UserId == userId && s.Type == SessionType.Web));
    }

    [Fact]
    public async Task Next_goes_back_on_this_site_only()
    {
        var email = NewEmail();
        await CreateUserWithPasswordAsync(email, Password);
        await using var tab = await DashboardTab.OpenAsync(server);
        await SignInAsync(tab, email, Password, "/login?next=%2F%2Fevil.example%2Fsteal");
        Assert.Equal(new Uri(server.BaseAddress, "/"), new Uri(tab.Page.Url));

        await using var second = await DashboardTab.OpenAsync(server);
        await SignInAsync(second, email, Password, "/login?next=%2Fonboard");
        Assert.Equal("/onboard", new Uri(second.Page.Url).PathAndQuery);
        Assert.Equal("Welcome to Codebuff", await second.HeadingAsync());
    }

    [Fact]
    public async Task Password_reset_by_link_ends_other_sessions_and_the_link_works_once()
    {
        var email = NewEmail();
        var userId = await CreateUserWithPasswordAsync(email, Password);
        var otherSession = await server.WebSessionTokenAsync(new TestUser(userId, email, ""));
        // Whoever had the old password may also have logged a CLI in; an API key is a deliberate credential and stays.
        var (cliToken, apiKey, fingerprint) = (Guid.NewGuid().ToString(), TokenHasher.NewPersonalAccessToken(), "fp-reset-" + Guid.NewGuid().ToString("N")[..8]);
        await using (var db = server.NewDbContext())
        {
            var hasher = server.Services.GetRequiredService<TokenHasher>();
            db.Fingerprints.Add(new Fingerprint { Id = fingerprint, SigHash = new string('c', 64) });
            db.Sessions.Add(new Session { SessionToken = hasher.Hash(cliToken), UserId = userId, Type = SessionType.Cli, Expires = CliLogin.CliSessionExpiry, FingerprintId = fingerprint });
            db.Sessions.Add(new Session { SessionToken = hasher.Hash(apiKey), UserId = userId, Type = SessionType.Pat, Expires = DateTime.UtcNow.AddDays(30) });
            await db.SaveChangesAsync();
        }
        await using var tab = await DashboardTab.OpenAsync(server);

        // An unknown address gets the same answer and no mail.
        var stranger = NewEmail();
        foreach (var address in new[] { stranger, email })
        {
            await tab.GotoAsync("/forgot-password");
            await tab.Page.FillAsync("#email", address);
            await SubmitAsync(tab, "#send-reset");
            Assert.Contains($"If {address} can be used for this", await tab.Page.InnerTextAsync("#check-email"));
        }
        var mail = await server.SingleEmailToAsync(email);
        var link = LocalAuthFixture.LinkPath(mail);
        Assert.DoesNotContain(server.Emails, m => m.To == stranger);
        Assert.Contains("revoke them all at http://localhost:5000/profile?tab=api-keys", mail.Text);

        await tab.GotoAsync(link);
        Assert.Equal("Choose a new password", await tab.HeadingAsync());
        Assert.Equal("/profile?tab=api-keys", await tab.Page.GetAttributeAsync("#api-keys-hint a", "href"));
        await tab.Page.FillAsync("#password", "a new password");
        await tab.Page.FillAsync("#confirm", "another password");
        await SubmitAsync(tab, "#set-password");
        Assert.Equal("The two passwords differ.", await tab.Page.InnerTextAsync("#password-error"));
        await tab.Page.FillAsync("#password", "a new password");
        await tab.Page.FillAsync("#confirm", "a new password");
        await SubmitAsync(tab, "#set-password");
        Assert.Equal("Welcome to Codebuff", await tab.HeadingAsync());

        // The other browser's session is gone; this one is the only web session.
        using (var old = new HttpClient { BaseAddress = server.BaseAddress })
        {
            old.DefaultRequestHeaders.Add("Cookie", $"{WebSession.Cookie}={otherSession}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await old.GetAsync("/api/user/profile")).StatusCode);
        }
        // So is the CLI's (its fingerprint unclaimed); the API key still works.
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(new TestUser(userId, email, cliToken)).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(new TestUser(userId, email, apiKey)).GetAsync("/api/v1/me")).StatusCode);
        await using (var db = server.NewDbContext())
        {
            Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == userId && s.Type == SessionType.Web));
            Assert.False(await db.Sessions.AnyAsync(s => s.UserId == userId && s.Type == SessionType.Cli));
            Assert.Null((await db.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
            Assert.False(await db.VerificationTokens.AnyAsync(t => t.Identifier == "reset:" + userId));
        }

        // The link is used up.
        var again = await tab.GotoAsync(link);
        Assert.Equal(400, again!.Status);
        Assert.Contains("expired or was already used", await tab.Page.InnerTextAsync("#link-unusable"));

        // The old password no longer works, the new one does.
        await using var fresh = await DashboardTab.OpenAsync(server);
        await SignInAsync(fresh, email, Password);
        Assert.Equal("Incorrect e-mail or password.", await fresh.Page.InnerTextAsync("#signin-error"));
        await SignInAsync(fresh, email, "a new password");
        Assert.Equal("Welcome to Codebuff", await fresh.HeadingAsync());

        // An expired link is refused like a used one, and its form is not offered.
        const string expiredToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        await using (var db = server.NewDbContext())
        {
            db.VerificationTokens.Add(new VerificationToken
            {
                Identifier = "reset:" + userId, Token = server.Services.GetRequiredService<TokenHasher>().Hash(expiredToken),
                Expires = DateTime.UtcNow.AddMinutes(-1),
            });
            await db.SaveChangesAsync();
        }
        var expired = await fresh.GotoAsync("/reset-password?token=" + expiredToken);
        Assert.Equal(400, expired!.Status);
        Assert.Equal(0, await fresh.Page.Locator("#password").CountAsync());
    }

    [Fact]
    public async Task Cli_login_with_a_local_account_links_the_cli()
    {
        var email = NewEmail();
        await CreateUserWithPasswordAsync(email, Password);
        var fingerprint = "codebuff-cli-" + Guid.NewGuid().ToString("N")[..10];
        var code = (await (await server.Client.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId = fingerprint })).Content.ReadFromJsonAsync<JsonObject>())!;
        var loginPath = new Uri((string)code["loginUrl"]!).PathAndQuery;

        await using var tab = await DashboardTab.OpenAsync(server);
        await SignInAsync(tab, email, Password, loginPath);
        Assert.Equal("/onboard", new Uri(tab.Page.Url).AbsolutePath);
        // Signing in only leads to the confirmation; the user compares the code with the terminal's and connects.
        Assert.Equal("Connect the Codebuff CLI?", await tab.HeadingAsync());
        Assert.Equal(Codebuff.Contracts.CliLoginCheck.Of((string)code["fingerprintHash"]!), (await tab.Page.InnerTextAsync("#check-code")).Trim());
        await SubmitAsync(tab, "#connect");
        Assert.Equal("You're logged in!", await tab.HeadingAsync());

        var status = await server.Client.GetAsync($"/api/auth/cli/status?fingerprintId={fingerprint}&fingerprintHash={code["fingerprintHash"]}&expiresAt={code["expiresAt"]}");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var user = (await status.Content.ReadFromJsonAsync<JsonObject>())!["user"]!;
        Assert.Equal(email, (string?)user["email"]);
        var me = await server.ClientFor(new TestUser("", email, (string)user["authToken"]!)).GetFromJsonAsync<JsonObject>("/api/v1/me?fields=email");
        Assert.Equal(email, (string?)me!["email"]);

        // Back on /login signed in: "Continue as", in the CLI's words.
        await tab.GotoAsync(loginPath);
        Assert.Equal("Authenticate", await tab.HeadingAsync());
        Assert.Equal("Continue as Pat Local", (await tab.Page.InnerTextAsync("#continue")).Trim());
        Assert.Equal(loginPath.Replace("/login", "/onboard"), await tab.Page.GetAttributeAsync("#continue", "href"));
        await SubmitAsync(tab, "#another-account");
        Assert.Equal(loginPath, new Uri(tab.Page.Url).PathAndQuery);
        Assert.Equal(1, await tab.Page.Locator("#signin").CountAsync());
    }

    [Fact]
    public async Task Admin_create_user_with_a_password_can_sign_in()
    {
        var email = NewEmail();
        var run = await ServerProcess.RunAsync(["admin", "create-user", "--email", email, "--password", Password],
            new Dictionary<string, string?> { ["ConnectionStrings__Default"] = server.ConnectionString });
        Assert.True(run.ExitCode == 0, run.Stderr);
        await using (var db = server.NewDbContext())
            Assert.StartsWith("AQAAAA", (await db.Users.SingleAsync(u => u.Email == email)).Password);

        await using var tab = await DashboardTab.OpenAsync(server);
        await SignInAsync(tab, email, Password);
        Assert.Equal(email, await tab.Page.InnerTextAsync("strong#email"));

        var tooShort = await ServerProcess.RunAsync(["admin", "create-user", "--email", NewEmail(), "--password", "short"],
            new Dictionary<string, string?> { ["ConnectionStrings__Default"] = server.ConnectionString });
        Assert.Equal(2, tooShort.ExitCode);
        Assert.Contains("at least 8 characters", tooShort.Stderr);
    }
}
