using Codebuff.Contracts;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Auth;

/// <summary>The CLI's fingerprint login end to end: the CLI side over HTTP, the browser side in Chromium.</summary>
public sealed class CliLoginFlowTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    async Task<JsonObject> StartLoginAsync(string fingerprintId)
    {
        var response = await server.Client.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    Task<HttpResponseMessage> PollAsync(JsonObject code, string? hash = null, string? expiresAt = null) =>
        server.Client.GetAsync($"/api/auth/cli/status?fingerprintId={code["fingerprintId"]}&fingerprintHash={hash ?? (string?)code["fingerprintHash"]}&expiresAt={expiresAt ?? code["expiresAt"]!.ToJsonString()}");

    /// <summary>The login URL points at the configured AppUrl; the browser opens the same path on the test server.</summary>
    string OnTestServer(JsonObject code) => new Uri(server.BaseAddress, new Uri((string)code["loginUrl"]!).PathAndQuery).ToString();

    [Fact]
    public async Task Code_then_browser_sign_in_then_poll_yields_a_working_token_until_logout()
    {
        var fingerprint = "codebuff-cli-" + Guid.NewGuid().ToString("N")[..10];
        var email = $"cli{Guid.NewGuid():N}@example.com";
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "clidev", "CLI Dev", email);

        var code = await StartLoginAsync(fingerprint);
        Assert.Matches("^[0-9a-f]{64}$", (string?)code["fingerprintHash"]);
        Assert.Equal($"http://localhost:5000/login?auth_code={fingerprint}.{code["expiresAt"]}.{code["fingerprintHash"]}", (string?)code["loginUrl"]);
        Assert.InRange(code["expiresAt"]!.GetValue<long>() - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 3_590_000, 3_600_000);

        var pending = await PollAsync(code);
        Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Authentication failed"}"""), (pending.StatusCode, await pending.Content.ReadAsStringAsync()));

        await using (var context = await Browser.NewContextAsync())
        {
            var page = await context.NewPageAsync();
            // The first page of a run also pays for Chromium's cold start, on a machine shared by other builds.
            await page.GotoAsync(OnTestServer(code));
            Assert.Contains("connect the Codebuff CLI", await page.InnerTextAsync("main"));
            Assert.Equal("Authenticate", (await page.InnerTextAsync("h1")).Trim());
            // The button is a plain link: GitHub (the fake approves at once) sends the browser to the callback, which
            // starts the web session and redirects to /onboard. Only the last page of that chain is committed, so wait
            // for it whatever it is (/onboard, or an error page of the callback) and then say which it was.
            var landed = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#github-signin"),
                r => r.Request.IsNavigationRequest && r.Frame == page.MainFrame && r.Status is < 300 or >= 400);
            await page.WaitForURLAsync(url => url == landed.Url, new() { WaitUntil = WaitUntilState.Commit });
            var onboard = "/onboard" + new Uri(OnTestServer(code)).Query;
            var main = await page.InnerTextAsync("main");
            Assert.True(landed.Status == 200 && new Uri(landed.Url).PathAndQuery == onboard, $"landed on {landed.Status} {landed.Url}: {main}");
            // Signing in leads to the confirmation, which shows the code the CLI printed; nothing is linked yet.
            Assert.Equal("Connect the Codebuff CLI?", (await page.InnerTextAsync("h1")).Trim());
            Assert.Equal(CliLoginCheck.Of((string)code["fingerprintHash"]!), (await page.InnerTextAsync("#check-code")).Trim());
            Assert.Equal(HttpStatusCode.Unauthorized, (await PollAsync(code)).StatusCode);
            await page.ClickAsync("#connect");
            await page.WaitForFunctionAsync("() => document.querySelector('h1')?.textContent.trim() === \"You're logged in!\"", null, new() { Timeout = 30_000 });
            Assert.Contains($"The Codebuff CLI is now connected to {email}", await page.InnerTextAsync("main"));

            // Opening the same link again (signed in now: "Continue as") changes nothing.
            await page.GotoAsync(OnTestServer(code));
            Assert.Contains("Continue as CLI Dev", await page.InnerTextAsync("#continue"));
            // Enhanced navigation: the page fetches /onboard and changes in place (its heading among the rest) once the
            // answer is in; wait for that answer, then for the one heading to be the new page's.
            var again = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#continue"), r => new Uri(r.Url).PathAndQuery == onboard);
            Assert.Equal(200, again.Status);
            var heading = await page.WaitForFunctionAsync(
                "() => { const h = document.querySelectorAll('h1'); return h.length === 1 && h[0].textContent.trim() !== 'Authenticate' && h[0].textContent.trim(); }",
                null, new() { Timeout = 30_000 });
            Assert.Equal("Already connected", await heading.JsonValueAsync<string>());
            Assert.Contains("Your account is already connected to your CLI!", await page.InnerTextAsync("main"));
            Assert.EndsWith(onboard, page.Url);
        }

        var done = await PollAsync(code);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var body = (await done.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("Authentication successful!", (string?)body["message"]);
        var user = body["user"]!;
        Assert.Equal((email, "CLI Dev", fingerprint, (string?)code["fingerprintHash"]),
            ((string?)user["email"], (string?)user["name"], (string?)user["fingerprintId"], (string?)user["fingerprintHash"]));
        var token = (string)user["authToken"]!;

        var me = await server.ClientFor(new TestUser((string)user["id"]!, email, token)).GetFromJsonAsync<JsonObject>("/api/v1/me?fields=id,email");
        Assert.Equal(email, (string?)me!["email"]);

        await using (var db = server.NewDbContext())
        {
            var cli = await db.Sessions.SingleAsync(s => s.FingerprintId == fingerprint && s.Type == SessionType.Cli);
            Assert.Equal(new DateTime(4707, 11, 28, 23, 59, 59, 999, DateTimeKind.Utc), cli.Expires);
            Assert.Equal((string?)code["fingerprintHash"], (await db.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
            // The browser's own web session was linked to the fingerprint too.
            Assert.Equal(1, await db.Sessions.CountAsync(s => s.FingerprintId == fingerprint && s.Type == SessionType.Web));
        }

        var logout = await server.ClientFor(new TestUser("", "", token)).PostAsJsonAsync("/api/auth/cli/logout",
            new { userId = (string)user["id"]!, fingerprintId = fingerprint, fingerprintHash = (string)code["fingerprintHash"]! });
        Assert.Equal("""{"success":true}""", await logout.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(new TestUser("", "", token)).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PollAsync(code)).StatusCode);
        await using (var db = server.NewDbContext())
            Assert.Null((await db.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
    }

    /// <summary>
    /// The attack: anyone asks for a login code and gets a signed-in user's browser to open its link — a redirect from
    /// another site, a page that navigates there, or the link itself (the Lax cookie rides on all of these top-level
    /// GETs). Nothing may link; the page shows the code the attacker's terminal printed, and only the user's
    /// confirmation on that page links (here the user confirms, to show that it does).
    /// </summary>
    [Fact]
    public async Task A_login_link_opened_by_a_signed_in_browser_links_nothing_until_the_user_confirms()
    {
        var victim = await server.CreateUserAsync();
        var fingerprint = "attacker-" + Guid.NewGuid().ToString("N")[..10];
        var code = await StartLoginAsync(fingerprint);
        var onboard = new Uri(server.BaseAddress, CliLoginBrowser.OnboardPath((string)code["loginUrl"]!)).ToString();

        await using var context = await Browser.NewContextAsync();
        await context.AddCookiesAsync([new Microsoft.Playwright.Cookie
        {
            Name = Codebuff.Server.Auth.WebSession.Cookie, Value = await server.WebSessionTokenAsync(victim),
            Url = server.BaseAddress.GetLeftPart(UriPartial.Authority), HttpOnly = true, SameSite = SameSiteAttribute.Lax,
        }]);
        await context.RouteAsync("http://attacker.example/**", route => route.Request.Url.EndsWith("/redirect")
            ? route.FulfillAsync(new() { Status = 302, Headers = new Dictionary<string, string> { ["Location"] = onboard } })
            : route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = $"<script>location.href = {JsonSerializer.Serialize(onboard)};</script>" }));
        var page = await context.NewPageAsync();

        async Task AssertAskedOnlyAsync(string how)
        {
            await page.WaitForURLAsync(onboard, new() { WaitUntil = WaitUntilState.Commit });
            // Enhanced navigation ("Continue as") swaps the page in place: wait for the one heading to be the new page's.
            await page.WaitForFunctionAsync(
                "() => { const h = document.querySelectorAll('h1'); return h.length === 1 && h[0].textContent.trim() === 'Connect the Codebuff CLI?'; }",
                null, new() { Timeout = 30_000 });
            Assert.Equal(CliLoginCheck.Of((string)code["fingerprintHash"]!), (await page.InnerTextAsync("#check-code")).Trim());
            Assert.Contains("ago", await page.InnerTextAsync("#requested-at"));
            Assert.Equal(HttpStatusCode.Unauthorized, (await PollAsync(code)).StatusCode);
            await using var db = server.NewDbContext();
            Assert.False(await db.Sessions.AnyAsync(s => s.FingerprintId == fingerprint), how);
            Assert.False(await db.Fingerprints.AnyAsync(f => f.Id == fingerprint), how);
        }

        await page.GotoAsync("http://attacker.example/redirect");
        await AssertAskedOnlyAsync("an HTTP redirect from another site");
        await page.GotoAsync("http://attacker.example/script");
        await AssertAskedOnlyAsync("a script on another site");
        await page.GotoAsync(onboard);
        await AssertAskedOnlyAsync("the link itself");
        await page.GotoAsync(OnTestServer(code));
        await page.ClickAsync("#continue");
        await AssertAskedOnlyAsync("the login link's Continue as");

        await page.ClickAsync("#connect");
        await page.WaitForFunctionAsync("() => document.querySelector('h1')?.textContent.trim() === \"You're logged in!\"", null, new() { Timeout = 30_000 });
        var linked = await PollAsync(code);
        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
        Assert.Equal(victim.Email, (string?)(await linked.Content.ReadFromJsonAsync<JsonObject>())!["user"]!["email"]);
    }

    /// <summary>
    /// Upstream hashed secret ‖ fingerprintId ‖ expiresAt run together, so the signature of ("atk19", E) also signed
    /// ("atk1", "9" + E): a login that never expires. Each field is now length-prefixed; any altered field is refused.
    /// </summary>
    [Fact]
    public async Task A_code_altered_in_any_field_is_refused()
    {
        var signed = await StartLoginAsync("atk19");
        var (expiresAt, hash) = (signed["expiresAt"]!.ToJsonString(), (string)signed["fingerprintHash"]!);
        using var browser = Web.PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(await server.CreateUserAsync()));
        var genuine = $"/onboard?auth_code=atk19.{expiresAt}.{hash}";
        var token = await Web.PageForms.TokenAsync(browser, genuine);
        var flipped = (hash[0] == 'a' ? "b" : "a") + hash[1..];
        foreach (var forged in new[] { $"atk1.9{expiresAt}.{hash}", $"atk19{expiresAt[0]}.{expiresAt[1..]}.{hash}", $"atk18.{expiresAt}.{hash}",
                     $"atk19.{long.Parse(expiresAt) + 1}.{hash}", $"atk19.{expiresAt}.{flipped}", $"atk19.{expiresAt}.{hash.ToUpperInvariant()}", $"atk19.+{expiresAt}.{hash}" })
        {
            var path = "/onboard?auth_code=" + Uri.EscapeDataString(forged);
            var opened = await browser.GetAsync(path);
            Assert.True(opened.StatusCode == HttpStatusCode.BadRequest, $"{forged}: {(int)opened.StatusCode}");
            Assert.Contains("Invalid auth code", await opened.Content.ReadAsStringAsync());
            // Its page offers no confirmation, so a post of one (with a valid token) is refused too.
            var posted = await Web.PageForms.PostAsync(browser, path, CliLoginBrowser.ConnectForm, new Dictionary<string, string>(), token);
            Assert.Equal(HttpStatusCode.BadRequest, posted.Status);
            Assert.DoesNotContain("logged in", posted.Body);
        }
        var shifted = await server.Client.GetAsync($"/api/auth/cli/status?fingerprintId=atk1&fingerprintHash={hash}&expiresAt=9{expiresAt}");
        Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Authentication failed"}"""), (shifted.StatusCode, await shifted.Content.ReadAsStringAsync()));
        await using (var db = server.NewDbContext())
            Assert.False(await db.Fingerprints.AnyAsync(f => f.Id.StartsWith("atk1")));

        // The genuine code still links.
        Assert.Equal(HttpStatusCode.OK, (await Web.PageForms.PostAsync(browser, genuine, CliLoginBrowser.ConnectForm, new Dictionary<string, string>(), token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PollAsync(signed)).StatusCode);
    }

    [Fact]
    public async Task Forged_expired_and_incomplete_polls_are_refused()
    {
        var code = await StartLoginAsync("codebuff-cli-forge");
        var forged = await PollAsync(code, hash: new string('a', 64));
        Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Authentication failed"}"""), (forged.StatusCode, await forged.Content.ReadAsStringAsync()));
        var past = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000).ToString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PollAsync(code, expiresAt: past)).StatusCode);
        var missing = await server.Client.GetAsync("/api/auth/cli/status?fingerprintId=x");
        Assert.Equal((HttpStatusCode.BadRequest, """{"error":"Invalid query parameters"}"""), (missing.StatusCode, await missing.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task Bad_code_requests_get_400()
    {
        foreach (var body in new[] { "{}", "{\"fingerprintId\":5}", "not json", "{\"fingerprintId\":\"has.dots\"}", "{\"fingerprintId\":\"ok\",\"referralCode\":1}" })
        {
            var response = await server.Client.PostAsync("/api/auth/cli/code", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal((HttpStatusCode.BadRequest, """{"error":"Invalid request body"}"""), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        }
        var withReferral = await server.Client.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId = "fp-1", referralCode = "ref-abc" });
        Assert.EndsWith("&referral_code=ref-abc", (string?)(await withReferral.Content.ReadFromJsonAsync<JsonObject>())!["loginUrl"]);
    }

    [Fact]
    public async Task A_fingerprint_claimed_by_one_user_cannot_be_taken_by_another()
    {
        var fingerprint = "codebuff-cli-" + Guid.NewGuid().ToString("N")[..10];
        var first = await StartLoginAsync(fingerprint);
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "first", null, $"first{Guid.NewGuid():N}@example.com");
        using (var a = server.Browserish(out _))
        {
            await a.GetAsync("/api/auth/signin/github");
            Assert.Contains("You&#39;re logged in!", (await CliLoginBrowser.ConfirmAsync(a, (string)first["loginUrl"]!)).Body);
        }

        var second = await StartLoginAsync(fingerprint);
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "second", null, $"second{Guid.NewGuid():N}@example.com");
        using var b = server.Browserish(out _);
        await b.GetAsync("/api/auth/signin/github");
        var refused = await CliLoginBrowser.ConfirmAsync(b, (string)second["loginUrl"]!);
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Contains("already logged in as someone else", refused.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PollAsync(second)).StatusCode);
        await using var db = server.NewDbContext();
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.FingerprintId == fingerprint && s.Type == SessionType.Cli));
        Assert.Equal((string?)first["fingerprintHash"], (await db.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
    }

    [Fact]
    public async Task Onboard_rejects_tampered_and_expired_codes_and_sends_strangers_to_login()
    {
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "o", null, $"o{Guid.NewGuid():N}@example.com");
        using var browser = server.Browserish(out _);
        using (var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress })
        {
            var redirect = await anonymous.GetAsync("/onboard?auth_code=a.b.c");
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal(new Uri(server.BaseAddress, "/login?auth_code=a.b.c"), new Uri(server.BaseAddress, redirect.Headers.Location!));
        }
        await browser.GetAsync("/api/auth/signin/github");
        var tampered = await browser.GetAsync($"/onboard?auth_code=fp.{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds()}.{new string('0', 64)}");
        Assert.Equal(HttpStatusCode.BadRequest, tampered.StatusCode);
        Assert.Contains("Invalid auth code", await tampered.Content.ReadAsStringAsync());

        var secret = server.Services.GetRequiredService<Codebuff.Server.Auth.CliLogin>();
        var past = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 5000).ToString();
        var expired = await browser.GetAsync($"/onboard?auth_code=fp-old.{past}.{secret.Hash("fp-old", past)}");
        Assert.Contains("Auth code expired", await expired.Content.ReadAsStringAsync());
        await using var db = server.NewDbContext();
        Assert.False(await db.Fingerprints.AnyAsync(f => f.Id == "fp-old" || f.Id == "fp"));
    }

    [Fact]
    public async Task A_logged_out_cli_token_stays_dead_when_the_same_link_is_opened_again()
    {
        var fingerprint = "codebuff-cli-" + Guid.NewGuid().ToString("N")[..10];
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "again", null, $"again{Guid.NewGuid():N}@example.com");
        var code = await StartLoginAsync(fingerprint);
        using var browser = server.Browserish(out _);
        await browser.GetAsync("/api/auth/signin/github");
        Assert.Contains("You&#39;re logged in!", (await CliLoginBrowser.ConfirmAsync(browser, (string)code["loginUrl"]!)).Body);
        var first = (await (await PollAsync(code)).Content.ReadFromJsonAsync<JsonObject>())!["user"]!;
        var firstToken = (string)first["authToken"]!;
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", firstToken);
        var asFirst = server.ClientFor(new TestUser("", "", firstToken));
        await asFirst.PostAsJsonAsync("/api/auth/cli/logout",
            new { userId = (string)first["id"]!, fingerprintId = fingerprint, fingerprintHash = (string)code["fingerprintHash"]! });

        // The same link, still inside its window: a new session with a new token; the old one does not come back.
        Assert.Contains("You&#39;re logged in!", (await CliLoginBrowser.ConfirmAsync(browser, (string)code["loginUrl"]!)).Body);
        var second = (await (await PollAsync(code)).Content.ReadFromJsonAsync<JsonObject>())!["user"]!;
        Assert.NotEqual(firstToken, (string)second["authToken"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, (await asFirst.GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(new TestUser("", "", (string)second["authToken"]!)).GetAsync("/api/v1/me")).StatusCode);
        await using var db = server.NewDbContext();
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.FingerprintId == fingerprint && s.Type == SessionType.Cli));
    }

    [Fact]
    public async Task The_raw_cli_token_is_neither_stored_nor_derivable_from_the_database()
    {
        var fingerprint = "codebuff-cli-" + Guid.NewGuid().ToString("N")[..10];
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "rest", null, $"restcli{Guid.NewGuid():N}@example.com");
        var code = await StartLoginAsync(fingerprint);
        using var browser = server.Browserish(out _);
        await browser.GetAsync("/api/auth/signin/github");
        await CliLoginBrowser.ConfirmAsync(browser, (string)code["loginUrl"]!);

        // The poll collects the token once; what stays in the database (the session's hash, the sealed copy until
        // then) is not the token and does not work as one.
        var sessionHash = await NewDbSessionHashAsync(fingerprint);
        byte[] sealedCopy;
        await using (var db = server.NewDbContext())
            sealedCopy = await db.Database.SqlQuery<byte[]>($"SELECT sealed AS \"Value\" FROM service.cli_login_token WHERE session_hash = {sessionHash}").SingleAsync();
        var first = await PollAsync(code);
        var token = (string?)(await first.Content.ReadFromJsonAsync<JsonObject>())!["user"]!["authToken"];
        Assert.NotNull(token);
        Assert.DoesNotContain(token, System.Text.Encoding.Latin1.GetString(sealedCopy));
        var poll = await PollAsync(code);
        Assert.Equal((HttpStatusCode.Unauthorized, """{"error":"Authentication failed"}"""), (poll.StatusCode, await poll.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(new TestUser("", "", token!)).GetAsync("/api/v1/me")).StatusCode);
        using var asStored = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        asStored.Headers.Add("x-codebuff-api-key", sessionHash);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.SendAsync(asStored)).StatusCode);
    }

    [Fact]
    public async Task Two_users_onboarding_one_fingerprint_at_once_leave_exactly_one_owner()
    {
        using var a = server.Browserish(out _);
        using var b = server.Browserish(out _);
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "racer-a", null, $"ra{Guid.NewGuid():N}@example.com");
        await a.GetAsync("/api/auth/signin/github");
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "racer-b", null, $"rb{Guid.NewGuid():N}@example.com");
        await b.GetAsync("/api/auth/signin/github");

        for (var round = 0; round < 5; round++)
        {
            var fingerprint = "codebuff-cli-race" + Guid.NewGuid().ToString("N")[..8];
            var loginUrl = (string)(await StartLoginAsync(fingerprint))["loginUrl"]!;
            var answers = await Task.WhenAll(CliLoginBrowser.ConfirmAsync(a, loginUrl), CliLoginBrowser.ConfirmAsync(b, loginUrl));
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], answers.Select(r => r.Status).Order());
            await using var db = server.NewDbContext();
            Assert.Equal(1, await db.Sessions.CountAsync(s => s.FingerprintId == fingerprint && s.Type == SessionType.Cli));
        }
    }

    async Task<string> NewDbSessionHashAsync(string fingerprint)
    {
        await using var db = server.NewDbContext();
        return await db.Sessions.Where(s => s.FingerprintId == fingerprint && s.Type == SessionType.Cli).Select(s => s.SessionToken).SingleAsync();
    }
}
