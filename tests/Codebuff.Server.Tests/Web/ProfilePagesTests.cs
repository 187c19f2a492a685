using Codebuff.Server.Auth;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// /profile in Chromium against the real server and database: its tabs, the usage chart after a billed call, API keys,
/// sessions, referrals and the handle. Refusals are posted without a browser (PageForms): a browser test fails on any
/// 4xx it sees, and a page that refuses input answers 4xx on purpose.
/// </summary>
public sealed class ProfilePagesTests(ChatFixture server) : IClassFixture<ChatFixture>
{
    static readonly Dictionary<string, string> Tabs = new()
    {
        ["usage"] = "Usage & credits", ["security"] = "Security", ["api-keys"] = "API keys", ["referrals"] = "Referrals", ["account"] = "Account",
    };

    static string Today => DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Every_tab_renders_with_one_h1_and_marks_itself_current()
    {
        var user = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);
        foreach (var (key, title) in Tabs)
        {
            var response = await tab.GotoAsync($"/profile?tab={key}");
            Assert.Equal(200, response!.Status);
            Assert.Equal("Your profile", await tab.HeadingAsync());
            Assert.Equal($"{title} · Profile · Codebuff", await tab.Page.TitleAsync());
            Assert.Equal(title, (await tab.Page.InnerTextAsync(".tabs a[aria-current=page]")).Trim());
            Assert.Equal(1, await tab.Page.Locator(".tabs a[aria-current]").CountAsync());
            Assert.Equal(title, (await tab.Page.InnerTextAsync("#tab-heading")).Trim());
        }
        // The default and an unknown tab are the usage tab; tabs are plain links.
        foreach (var path in new[] { "/profile", "/profile?tab=nonsense" })
        {
            await tab.GotoAsync(path);
            Assert.Equal("Usage & credits", (await tab.Page.InnerTextAsync(".tabs a[aria-current=page]")).Trim());
        }
        await tab.Page.ClickAsync(".tabs a[href='/profile?tab=account']");
        // Commit, then what the new document shows (DOMContentLoaded was not reliably reported on a loaded CI machine).
        await tab.Page.WaitForURLAsync("**/profile?tab=account", new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(tab.Page.Locator("#account-email")).ToHaveTextAsync(user.Email);
    }

    [Fact]
    public async Task Signed_out_the_profile_sends_the_browser_to_sign_in_and_back()
    {
        using var client = PageForms.Client(server.BaseAddress);
        var response = await client.GetAsync("/profile?tab=api-keys");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login?next=%2Fprofile%3Ftab%3Dapi-keys", response.Headers.Location!.PathAndQuery);
    }

    [Theory]
    [InlineData("/usage", "/profile?tab=usage")]
    [InlineData("/api-keys", "/profile?tab=api-keys")]
    [InlineData("/referrals", "/profile?tab=referrals")]
    [InlineData("/usage?purchase_canceled=true", "/profile?tab=usage&purchase_canceled=true")]
    public async Task Short_links_redirect_to_their_tab(string path, string target)
    {
        using var client = PageForms.Client(server.BaseAddress);
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(target, response.Headers.Location!.ToString());
    }

    [Fact]
    public async Task The_usage_tab_shows_the_balance_by_grant_type_and_todays_spend_after_a_billed_call()
    {
        var user = await server.CreateUserAsync(credits: 1000); // an operator's grant: "Special Grant"
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
            await ledger.GrantAsync(LedgerOwner.User(user.Id), $"free-{Guid.NewGuid():N}", user.Id, 500, GrantType.Free, "Monthly free credits", DateTime.UtcNow.AddDays(20));
            await ledger.GrantAsync(LedgerOwner.User(user.Id), $"buy-{Guid.NewGuid():N}", user.Id, 700, GrantType.Purchase, "Purchased 700 credits", null);
        }

        // A billed chat completion through the server (the fake provider prices test/pricey at 53 credits).
        using var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var completion = await client.PostChatAsync(ChatFixture.ChatBody("test/pricey", runId, stream: false));
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        Assert.Equal(53, Assert.Single(await server.MessagesAsync(user.Id)).Credits);

        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=usage");
        var usage = (await client.GetFromJsonAsync<JsonObject>("/api/user/usage"))!;

        // Renewable (monthly free) and non-renewable (special grant, purchased) leaves, with upstream's labels.
        var renewable = await tab.Page.InnerTextAsync("#branch-renewable");
        Assert.Contains("Monthly Free", renewable);
        Assert.Contains($"{(int)usage["balance"]!["breakdown"]!["free"]!:N0} left", renewable);
        Assert.Contains("Renews", renewable);
        var nonRenewable = await tab.Page.InnerTextAsync("#branch-non-renewable");
        Assert.Contains("Special Grant", nonRenewable);
        Assert.Contains("Purchased", nonRenewable);
        Assert.Contains("700 left", nonRenewable);
        Assert.Equal(((int)usage["balance"]!["netBalance"]!).ToString("N0"), await tab.Page.InnerTextAsync("#net-balance"));
        Assert.Contains("Total Left", await tab.Page.InnerTextAsync("#balance .total"));
        Assert.DoesNotContain("rganization", await tab.Page.InnerTextAsync("#balance"));
        Assert.Equal(0, await tab.Page.Locator("#debt").CountAsync());
        Assert.Equal(((int)usage["usageThisCycle"]!).ToString("N0"), await tab.Page.InnerTextAsync("#usage-this-cycle"));
        Assert.Equal(((DateTime)usage["nextQuotaReset"]!).ToString("yyyy-MM-dd"), await tab.Page.GetAttributeAsync("#next-reset", "datetime"));

        // The chart: 30 days ending today, today's bar labelled with the credits just spent, every other day zero.
        var chart = tab.Page.Locator("#usage-chart");
        Assert.Equal("img", await chart.Locator("svg").GetAttributeAsync("role"));
        Assert.Contains("Credits used per day, last 30 days: 53 credits in all", await chart.Locator("svg > title").TextContentAsync());
        Assert.Equal(30, await chart.Locator(".bar-slot").CountAsync());
        var today = chart.Locator($".bar-slot[data-label='{Today}']");
        Assert.Equal("53", await today.GetAttributeAsync("data-value"));
        Assert.Equal("53", (await today.Locator("text.value").TextContentAsync())!.Trim());
        Assert.True(double.Parse((await today.Locator("rect").GetAttributeAsync("height"))!, System.Globalization.CultureInfo.InvariantCulture) > 100);
        Assert.Equal(29, await chart.Locator(".bar-slot[data-value='0']").CountAsync());
        // The numbers as a table, for anyone who cannot read the picture.
        await chart.Locator("summary").ClickAsync();
        Assert.Equal("53", (await chart.Locator($"tr[data-label='{Today}'] td.num").InnerTextAsync()).Trim());
        Assert.Equal(30, await chart.Locator("tbody tr").CountAsync());
        await tab.ScreenshotAsync();
    }

    [Fact]
    public async Task Debt_shows_a_banner_and_the_total_owed()
    {
        var user = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
        {
            db.CreditLedger.Add(new CreditGrant
            {
                OperationId = $"debt-{Guid.NewGuid():N}", UserId = user.Id, Principal = 100, Balance = -1500, Type = GrantType.Purchase, Priority = 80,
                Description = "overdrawn", CreatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile");
        var balance = (await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/user/usage"))!["balance"]!;
        Assert.True((int)balance["totalDebt"]! > 500);
        Assert.Contains($"You owe {(int)balance["totalDebt"]!:N0} credits", await tab.Page.InnerTextAsync("#debt[role=alert]"));
        Assert.Contains("Total Owed", await tab.Page.InnerTextAsync("#balance .total"));
        Assert.Equal((-(int)balance["netBalance"]!).ToString("N0"), await tab.Page.InnerTextAsync("#net-balance.owed"));
    }

    [Fact]
    public async Task Without_stripe_buying_credits_and_auto_top_up_are_hidden_with_a_note()
    {
        var user = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=usage");
        Assert.Contains("Payments are not set up on this server", await tab.Page.InnerTextAsync("#payments-off"));
        Assert.Equal(0, await tab.Page.Locator("#buy-form, #topup-form").CountAsync());
    }

    [Fact]
    public async Task Create_an_api_key_see_it_once_and_revoke_it_so_the_api_refuses_it()
    {
        var user = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=api-keys");
        Assert.Equal(1, await tab.Page.Locator("#tokens tbody tr").CountAsync()); // the one admin create-user made

        await tab.Page.FillAsync("#key-name", "laptop");
        await tab.Page.FillAsync("#key-days", "30");
        await tab.Page.ClickAsync("#create-key button[type=submit]");
        var token = await tab.Page.Locator("#new-token").InputValueAsync();
        await tab.ScreenshotAsync();
        Assert.Matches("^cb-pat-[0-9a-f]{64}$", token);
        // The list names a key by the end of its stored hash: the token itself is never kept.
        var masked = "cb-pat-…" + server.Services.GetRequiredService<TokenHasher>().Hash(token)[^8..];
        Assert.Equal(2, await tab.Page.Locator("#tokens tbody tr").CountAsync());
        Assert.Contains(masked, await tab.Page.InnerTextAsync("#tokens"));
        // Its name is kept and shown beside it, also after a reload (the operator's key has none).
        Assert.Equal(["laptop"], await tab.Page.Locator("#tokens .key-name").AllInnerTextsAsync());
        Assert.Contains(DateTime.UtcNow.AddDays(30).ToString("MMM d, yyyy", System.Globalization.CultureInfo.InvariantCulture), await tab.Page.InnerTextAsync("#tokens"));
        using var keyClient = server.ClientFor(user with { ApiKey = token });
        Assert.Equal(user.Email, (string?)(await keyClient.GetFromJsonAsync<JsonObject>("/api/v1/me?fields=email"))!["email"]);

        // Reloading never shows the key again; revoking it from the table ends it.
        await tab.GotoAsync("/profile?tab=api-keys");
        Assert.Equal(0, await tab.Page.Locator("#new-token").CountAsync());
        Assert.DoesNotContain(token, await tab.Page.ContentAsync());
        Assert.Equal("laptop " + masked, (await tab.Page.Locator("#tokens tbody tr", new() { HasText = masked }).Locator("td").First.InnerTextAsync()).Trim());
        await tab.Page.ClickAsync($"#tokens button[aria-label='Revoke {masked}']");
        await tab.Page.Locator("#keys-notice").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Equal("API key revoked.", (await tab.Page.InnerTextAsync("#keys-notice")).Trim());
        Assert.Equal(1, await tab.Page.Locator("#tokens tbody tr").CountAsync());
        Assert.DoesNotContain(masked, await tab.Page.InnerTextAsync("#tokens"));
        var refused = await keyClient.GetAsync("/api/v1/me");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("""{"error":"Invalid API key or user not found"}""", await refused.Content.ReadAsStringAsync());
        // The operator's key still works.
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user).GetAsync("/api/v1/me")).StatusCode);
    }

    /// <summary>One step revokes every API key (what the password reset page and e-mail point to); other users' keys stay.</summary>
    [Fact]
    public async Task Revoke_all_api_keys_revokes_every_key_of_the_user_at_once()
    {
        var user = await server.CreateUserAsync();
        var other = await server.CreateUserAsync();
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        await PageForms.PostAsync(client, "/profile?tab=api-keys", "create-key", new Dictionary<string, string> { ["Create.Days"] = "30" });
        var (status, page) = await PageForms.PostAsync(client, "/profile?tab=api-keys", "revoke-all-keys", new Dictionary<string, string>());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("2 API keys revoked.", page);
        Assert.Contains("You have no API keys.", page);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(user).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(other).GetAsync("/api/v1/me")).StatusCode);
        await using var db = server.NewDbContext();
        Assert.False(await db.Sessions.AnyAsync(s => s.UserId == user.Id && s.Type == SessionType.Pat));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("366")]
    [InlineData("ten")]
    [InlineData("")]
    public async Task A_key_form_with_a_bad_expiry_is_refused_and_creates_nothing(string days)
    {
        var user = await server.CreateUserAsync();
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        var (status, page) = await PageForms.PostAsync(client, "/profile?tab=api-keys", "create-key", new Dictionary<string, string> { ["Create.Days"] = days });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("""<p class="notice error" role="alert" id="keys-error">A key lives for 1 to 365 days.</p>""", page);
        Assert.DoesNotMatch("cb-pat-[0-9a-f]{64}", page);
        await using var db = server.NewDbContext();
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Pat));
    }

    [Fact]
    public async Task Sessions_list_web_and_cli_revoke_one_and_log_out_the_other_browsers()
    {
        var user = await server.CreateUserAsync();
        var otherBrowser = await server.WebSessionTokenAsync(user);
        var thirdBrowser = await server.WebSessionTokenAsync(user);
        var hasher = server.Services.GetRequiredService<TokenHasher>();
        var fingerprint = $"fp-{Guid.NewGuid():N}";
        await using (var db = server.NewDbContext())
        {
            db.Fingerprints.Add(new Fingerprint { Id = fingerprint, SigHash = "signed", CreatedAt = new DateTime(2026, 1, 2, 0, 0, 0, DateTimeKind.Utc) });
            db.Sessions.Add(new Session { SessionToken = hasher.Hash("cli-" + fingerprint), UserId = user.Id, Type = SessionType.Cli, FingerprintId = fingerprint, Expires = DateTime.MaxValue.AddDays(-1).ToUniversalTime() });
            await db.SaveChangesAsync();
        }

        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=security");
        Assert.Equal("Web sessions (3)", (await tab.Page.InnerTextAsync("#web-heading")).Trim());
        Assert.Equal("CLI sessions (1)", (await tab.Page.InnerTextAsync("#cli-heading")).Trim());
        // This browser's own row is marked and has no revoke button.
        var current = tab.Page.Locator("#web-sessions tr.current");
        Assert.Contains("Current", await current.InnerTextAsync());
        Assert.Equal(0, await current.Locator("button").CountAsync());
        Assert.Equal(2, await tab.Page.Locator("#web-sessions button").CountAsync());
        // A web session was first seen when it started (its fixed lifetime before it expires): today, for all three.
        var today = DateTime.UtcNow.ToString("MMM d, yyyy", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal([today, today, today], await tab.Page.Locator("#web-sessions tbody td:nth-child(3)").AllInnerTextsAsync());
        var cliRow = await tab.Page.InnerTextAsync("#cli-sessions tbody tr");
        Assert.Contains("Never expires", cliRow);
        Assert.Contains("Jan 2, 2026", cliRow);

        // Revoking the CLI session deletes it and unclaims its fingerprint.
        await tab.Page.ClickAsync("#cli-sessions button");
        await tab.Page.Locator("#sessions-notice").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Equal("Session revoked.", (await tab.Page.InnerTextAsync("#sessions-notice")).Trim());
        Assert.Equal("CLI sessions (0)", (await tab.Page.InnerTextAsync("#cli-heading")).Trim());
        await using (var db = server.NewDbContext())
        {
            Assert.False(await db.Sessions.AnyAsync(s => s.FingerprintId == fingerprint));
            Assert.Null((await db.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
        }

        // Revoke one other browser by its row, then log out every other browser at once.
        var otherLabel = "••••" + hasher.Hash(otherBrowser)[^4..];
        await tab.Page.ClickAsync($"#web-sessions button[aria-label='Revoke session {otherLabel}']");
        await tab.Page.Locator("#web-heading", new() { HasTextString = "(2)" }).WaitForAsync();
        await using (var db = server.NewDbContext())
            Assert.False(await db.Sessions.AnyAsync(s => s.SessionToken == hasher.Hash(otherBrowser)));
        await tab.Page.ClickAsync("#logout-others button");
        await tab.Page.Locator("#sessions-notice", new() { HasTextString = "Logged out of 1 other web session." }).WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Equal("Web sessions (1)", (await tab.Page.InnerTextAsync("#web-heading")).Trim());
        await using (var db = server.NewDbContext())
        {
            Assert.False(await db.Sessions.AnyAsync(s => s.SessionToken == hasher.Hash(thirdBrowser)));
            Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));
        }
        // This browser is still signed in; the others are not.
        await tab.GotoAsync("/profile?tab=security");
        Assert.Equal("Your profile", await tab.HeadingAsync());
        using var other = PageForms.Client(server.BaseAddress, webSession: thirdBrowser);
        Assert.Equal(HttpStatusCode.Redirect, (await other.GetAsync("/profile")).StatusCode);
    }

    [Fact]
    public async Task The_current_session_cannot_be_revoked_by_a_hand_made_post()
    {
        var user = await server.CreateUserAsync();
        var session = await server.WebSessionTokenAsync(user);
        using var client = PageForms.Client(server.BaseAddress, webSession: session);
        var hash = server.Services.GetRequiredService<TokenHasher>().Hash(session);
        var (status, page) = await PageForms.PostAsync(client, "/profile?tab=security", "revoke-session", new Dictionary<string, string> { ["Revoke.Id"] = hash });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("That session was already gone.", page);
        await using var db = server.NewDbContext();
        Assert.True(await db.Sessions.AnyAsync(s => s.SessionToken == hash));
    }

    async Task<string> CodeOfAsync(TestUser user)
    {
        await using var db = server.NewDbContext();
        return (await db.Users.SingleAsync(u => u.Id == user.Id)).ReferralCode!;
    }

    [Fact]
    public async Task Redeem_a_referral_code_and_both_sides_see_it()
    {
        var referrer = await server.CreateUserAsync();
        var referred = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == referrer.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Name, "Ada Referrer"));
        var code = await CodeOfAsync(referrer);

        await using (var tab = await DashboardTab.OpenAsync(server, referred))
        {
            await tab.GotoAsync("/profile?tab=referrals");
            var own = await CodeOfAsync(referred);
            Assert.Equal(own, await tab.Page.InnerTextAsync("#referral-code"));
            Assert.Equal($"http://localhost:5000/referrals/{own}", await tab.Page.InputValueAsync("#referral-link"));
            Assert.Contains("You've referred 0/5 people.", await tab.Page.InnerTextAsync("#referral-count"));
            Assert.Equal(0, await tab.Page.Locator("#referred-by").CountAsync());

            await tab.Page.FillAsync("#redeem-code", $"  {code} ");
            await tab.Page.ClickAsync("#redeem button[type=submit]");
            await tab.Page.Locator("#redeem-ok").WaitForAsync();
            await tab.ScreenshotAsync();
            Assert.Contains($"each got {Referrals.CreditsPerSide} credits", await tab.Page.InnerTextAsync("#redeem-ok"));
            Assert.Equal("Ada Referrer referred you.", (await tab.Page.InnerTextAsync("#referred-by")).Trim());
            Assert.Equal(0, await tab.Page.Locator("#redeem").CountAsync()); // referred once only
        }
        await using (var db = server.NewDbContext())
        {
            Assert.Equal(referrer.Id, (await db.Referrals.SingleAsync(r => r.ReferredId == referred.Id)).ReferrerId);
            Assert.Equal(2, await db.CreditLedger.CountAsync(g => (g.UserId == referrer.Id || g.UserId == referred.Id) && g.Type == GrantType.Referral));
        }

        await using (var tab = await DashboardTab.OpenAsync(server, referrer))
        {
            await tab.GotoAsync("/profile?tab=referrals");
            Assert.Contains("You've referred 1/5 people.", await tab.Page.InnerTextAsync("#referral-count"));
            var row = await tab.Page.InnerTextAsync("#referrals tbody tr");
            Assert.Contains(referred.Email, row);
            Assert.Contains($"+{Referrals.CreditsPerSide}", row);
            await tab.GotoAsync("/profile?tab=usage");
            Assert.Contains("Referral Bonus", await tab.Page.InnerTextAsync("#branch-renewable"));
        }
    }

    [Theory]
    [InlineData("no-such-code", 400, "This referral code doesn't exist!")]
    [InlineData("", 400, "Missing referral code")]
    [InlineData("own", 400, "Nice try bud, you can't use your own referral code.")]
    public async Task A_bad_referral_code_is_refused_next_to_the_field(string code, int status, string message)
    {
        var user = await server.CreateUserAsync();
        if (code == "own") code = await CodeOfAsync(user);
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        var (answer, page) = await PageForms.PostAsync(client, "/profile?tab=referrals", "redeem", new Dictionary<string, string> { ["Redeem.Code"] = code });
        Assert.Equal((HttpStatusCode)status, answer);
        Assert.Contains($"""<p class="notice error" role="alert" id="redeem-error">{message}""", WebUtility.HtmlDecode(page));
        await using var db = server.NewDbContext();
        Assert.False(await db.Referrals.AnyAsync(r => r.ReferredId == user.Id));
    }

    [Fact]
    public async Task The_referral_landing_page_names_the_inviter_and_handles_bad_codes()
    {
        var referrer = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == referrer.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Name, "Grace Inviter"));
        var code = await CodeOfAsync(referrer);
        await using (var tab = await DashboardTab.OpenAsync(server))
        {
            await tab.GotoAsync($"/referrals/{code}");
            Assert.Equal("Grace Inviter invited you to Codebuff", await tab.HeadingAsync());
            Assert.Equal(code, await tab.Page.InnerTextAsync("#invite-code"));
            Assert.Equal($"/login?next=%2Freferrals%2F{code}", await tab.Page.GetAttributeAsync("#referral-invite a.button", "href"));
        }
        // An unknown code: 404 with a page that says so (fetched without a browser, which logs every 404 as an error).
        using (var client = PageForms.Client(server.BaseAddress))
        {
            client.DefaultRequestHeaders.Accept.ParseAdd("text/html");
            var missing = await client.GetAsync("/referrals/nope-nope");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Contains("<h1>Invalid referral code</h1>", await missing.Content.ReadAsStringAsync());
        }
        await using (var own = await DashboardTab.OpenAsync(server, referrer))
        {
            await own.GotoAsync($"/referrals/{code}");
            Assert.Equal("This is your referral link", await own.HeadingAsync());
        }
    }

    [Fact]
    public async Task The_account_tab_shows_the_user_and_sets_a_handle()
    {
        var user = await server.CreateUserAsync();
        var handle = "h" + Guid.NewGuid().ToString("N")[..10];
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=account");
        Assert.Equal(user.Email, (await tab.Page.InnerTextAsync("#account-email")).Trim());
        Assert.Equal("Test User", (await tab.Page.InnerTextAsync("#account-name")).Trim());
        Assert.Equal("not set", (await tab.Page.InnerTextAsync("#account-handle")).Trim());

        await tab.Page.FillAsync("#handle", handle.ToUpperInvariant());
        await tab.Page.ClickAsync("#handle-form button[type=submit]");
        await tab.Page.Locator("#handle-saved").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Equal(handle, (await tab.Page.InnerTextAsync("#account-handle")).Trim());
        var profile = (await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/user/profile"))!;
        Assert.Equal(handle, (string?)profile["handle"]);
    }

    [Theory]
    [InlineData("ab", 400, "A handle has 3–20 characters")]
    [InlineData("taken", 409, "This handle is already taken")]
    public async Task A_bad_or_taken_handle_is_refused_and_nothing_changes(string handle, int status, string message)
    {
        if (handle == "taken")
        {
            handle = "t" + Guid.NewGuid().ToString("N")[..10];
            var other = await server.CreateUserAsync();
            var set = await server.ClientFor(other).PatchAsJsonAsync("/api/user/profile", new { handle });
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }
        var user = await server.CreateUserAsync();
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        var (answer, page) = await PageForms.PostAsync(client, "/profile?tab=account", "handle", new Dictionary<string, string> { ["Handle.Value"] = handle });
        Assert.Equal((HttpStatusCode)status, answer);
        Assert.Contains($"""<p class="notice error" role="alert" id="handle-error">{message}""", WebUtility.HtmlDecode(page));
        await using var db = server.NewDbContext();
        Assert.Null((await db.Users.SingleAsync(u => u.Id == user.Id)).Handle);
    }
}
