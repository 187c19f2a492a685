using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Orgs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// Deleting an account from the Account tab: the user row stays as a tombstone with no personal data and no
/// credentials, the billing facts stay; refused while the user is an org's only owner or owns a publisher.
/// </summary>
public sealed class AccountDeletionTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    static Dictionary<string, string> Confirm(string text) => new() { ["Delete.Confirm"] = text };

    [Fact]
    public async Task Deleting_on_the_account_tab_ends_every_credential_erases_personal_data_and_keeps_billing_facts()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var other = await server.CreateUserAsync();
        var api = server.ClientFor(user);
        var runId = await server.StartRunAsync(api);
        Assert.Equal(HttpStatusCode.OK, (await api.PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: false))).StatusCode);
        var message = Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        Assert.NotEqual("\"\"", message.Response);
        Assert.Equal(1, await TraceStepsAsync(user.Id, wantAtLeast: 1));
        var elsewhere = await server.WebSessionTokenAsync(user); // signed in in another browser too
        var coOwned = await server.CreateOrgAsync(other, (user, OrgRole.Owner));
        var mine = await server.CreateOrgAsync(user, (other, OrgRole.Owner)); // co-owned: the other owner takes it over
        await using (var db = server.NewDbContext())
        {
            db.Accounts.Add(new Account { UserId = user.Id, Type = "oauth", Provider = "github", ProviderAccountId = $"gh-{Guid.NewGuid():N}" });
            db.EncryptedApiKeys.Add(new EncryptedApiKey { UserId = user.Id, Type = ApiKeyType.Anthropic, ApiKey = "sealed" });
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Handle, $"h{Guid.NewGuid():N}"[..12]).SetProperty(u => u.Image, "https://img.example/me.png"));
            await db.SaveChangesAsync();
        }
        int ledgerRows;
        await using (var db = server.NewDbContext()) ledgerRows = await db.CreditLedger.CountAsync(g => g.UserId == user.Id);

        await using (var tab = await DashboardTab.OpenAsync(server, user))
        {
            await tab.GotoAsync("/profile?tab=account");
            await tab.Page.FillAsync("#delete-confirm", user.Email);
            await tab.Page.ClickAsync("#delete-account-form button[type=submit]");
            // Commit, then what the new document shows (DOMContentLoaded was not reliably reported on a loaded CI machine).
            await tab.Page.WaitForURLAsync("**/login?deleted=1", new() { WaitUntil = WaitUntilState.Commit });
            await Assertions.Expect(tab.Page.Locator("#deleted")).ToContainTextAsync("Your account has been deleted");
        }

        // The key no longer works, on a route that reads the database and on the chat route that caches callers.
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/me?fields=id")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.PostChatAsync(ChatFixture.ChatBody("test/model", runId, stream: false))).StatusCode);
        using (var browser = PageForms.Client(server.BaseAddress, webSession: elsewhere))
        {
            var page = await browser.GetAsync("/profile");
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.StartsWith("/login", new Uri(server.BaseAddress, page.Headers.Location!).PathAndQuery);
        }

        await using var after = server.NewDbContext();
        var tomb = await after.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal(($"deleted-{user.Id}@deleted.invalid", (string?)null, (string?)null, (string?)null, (string?)null, true),
            (tomb.Email, tomb.Name, tomb.Handle, tomb.Image, tomb.Password, tomb.Banned));
        Assert.False(await after.Sessions.AnyAsync(s => s.UserId == user.Id));
        Assert.False(await after.Accounts.AnyAsync(a => a.UserId == user.Id));
        Assert.False(await after.EncryptedApiKeys.AnyAsync(k => k.UserId == user.Id));
        Assert.False(await after.OrgMembers.AnyAsync(m => m.UserId == user.Id));
        Assert.Equal(other.Id, await after.Orgs.Where(o => o.Id == mine.Id).Select(o => o.OwnerId).SingleAsync());
        Assert.Equal(other.Id, await after.Orgs.Where(o => o.Id == coOwned.Id).Select(o => o.OwnerId).SingleAsync());
        // Billing facts stay: the ledger and the message row with its tokens and credits, without its words.
        Assert.Equal(ledgerRows, await after.CreditLedger.CountAsync(g => g.UserId == user.Id));
        var kept = await after.Messages.AsNoTracking().SingleAsync(m => m.Id == message.Id);
        Assert.Equal((message.Credits, message.InputTokens, message.OutputTokens, user.Id), (kept.Credits, kept.InputTokens, kept.OutputTokens, kept.UserId));
        Assert.Equal("\"\"", kept.Response);
        Assert.Null(kept.ReasoningText);
        Assert.True(await after.AgentRuns.AnyAsync(r => r.Id == runId));
        Assert.Equal(0, await TraceStepsAsync(user.Id, wantAtLeast: 0));
    }

    /// <summary>The user's stored trace steps, once at least <paramref name="wantAtLeast"/> are there (they are written after the call).</summary>
    async Task<int> TraceStepsAsync(string userId, int wantAtLeast)
    {
        for (var i = 0; ; i++)
        {
            await using var db = server.NewDbContext();
            var n = await db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM service.trace_step WHERE user_id = {userId}").SingleAsync();
            if (n >= wantAtLeast || i == 100) return n;
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_wrong_confirmation_deletes_nothing()
    {
        var user = await server.CreateUserAsync();
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        var (status, page) = await PageForms.PostAsync(client, "/profile?tab=account", "delete-account", Confirm("someone@else.example"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("Type your e-mail address exactly as shown above", WebUtility.HtmlDecode(page));
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user).GetAsync("/api/v1/me?fields=id")).StatusCode);
    }

    [Fact]
    public async Task A_deletion_posted_without_the_pages_antiforgery_token_is_refused()
    {
        // What a cross-site form would send with the victim's cookie: the right fields, no token from the page.
        var user = await server.CreateUserAsync();
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        var response = await client.PostAsync("/profile?tab=account", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "delete-account", ["Delete.Confirm"] = user.Email,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await using var db = server.NewDbContext();
        Assert.Equal(user.Email, (await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id)).Email);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user).GetAsync("/api/v1/me?fields=id")).StatusCode);
    }

    [Fact]
    public async Task Deleting_is_refused_with_what_to_do_first_while_the_user_is_an_orgs_only_owner_or_owns_a_publisher()
    {
        var user = await server.CreateUserAsync();
        var other = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(user, (other, OrgRole.Admin));
        var publisher = $"p{Guid.NewGuid():N}"[..12];
        Assert.Equal(HttpStatusCode.Created, (await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = publisher, name = "Mine" })).StatusCode);
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));

        var (status, page) = await PageForms.PostAsync(client, "/profile?tab=account", "delete-account", Confirm(user.Email));
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains($"You are the only owner of the organization '{org.Slug}': make another member an owner, or delete the organization, first (/orgs/{org.Slug}/settings).", WebUtility.HtmlDecode(page));

        await using (var db = server.NewDbContext())
            await db.OrgMembers.Where(m => m.OrgId == org.Id && m.UserId == other.Id).ExecuteUpdateAsync(s => s.SetProperty(m => m.Role, OrgRole.Owner));
        (status, page) = await PageForms.PostAsync(client, "/profile?tab=account", "delete-account", Confirm(user.Email));
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains($"You own the publisher '{publisher}'", WebUtility.HtmlDecode(page));

        await using var after = server.NewDbContext();
        var kept = await after.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal((user.Email, false), (kept.Email, kept.Banned));
        Assert.True(await after.OrgMembers.AnyAsync(m => m.UserId == user.Id && m.OrgId == org.Id));
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user).GetAsync("/api/v1/me?fields=id")).StatusCode);
    }
}
