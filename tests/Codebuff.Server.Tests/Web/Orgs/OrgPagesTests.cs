using System.Text.RegularExpressions;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Orgs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web.Orgs;

/// <summary>
/// The organization pages in Chromium against the real server: create, invite, accept in a second browser, add a
/// repository, export usage; what members, outsiders and site admins see.
/// </summary>
public sealed partial class OrgPagesTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    [Fact]
    public async Task Owner_creates_an_org_invites_by_email_and_the_invitee_accepts_in_a_second_browser()
    {
        var owner = await server.CreateUserAsync();
        var invitee = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, owner);

        await tab.GotoAsync("/orgs/new");
        Assert.Equal("Create organization", await tab.HeadingAsync());
        var name = "Acme " + Guid.NewGuid().ToString("N")[..8];
        await tab.Page.FillAsync("#org-name", "Bad/Name");
        await SubmitAsync(tab, "Create organization");
        await tab.Page.Locator("[role=alert]").WaitForAsync();
        Assert.Contains("can only contain letters, numbers", await tab.Page.InnerTextAsync("[role=alert]"));
        await tab.ScreenshotAsync();

        await tab.Page.FillAsync("#org-name", name);
        await tab.Page.FillAsync("#org-description", "Widgets, mostly");
        await tab.Page.ClickAsync("button:has-text('Create organization')");
        // Commit, then what the new document shows (DOMContentLoaded was not reliably reported on a loaded CI machine).
        await tab.Page.WaitForURLAsync(new Regex("/orgs/acme-[0-9a-f]{8}$"), new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(tab.Page.Locator("h1")).ToHaveTextAsync(name);
        await tab.ScreenshotAsync();
        Assert.Equal(name, await tab.HeadingAsync());
        var slug = new Uri(tab.Page.Url).AbsolutePath.Split('/')[^1];
        await using (var db = server.NewDbContext())
        {
            var org = await db.Orgs.SingleAsync(o => o.Slug == slug);
            Assert.Equal((name, "Widgets, mostly", owner.Id), (org.Name, org.Description, org.OwnerId));
            Assert.Equal(OrgRole.Owner, (await db.OrgMembers.SingleAsync(m => m.OrgId == org.Id)).Role);
        }

        // Invite by e-mail: the invitation is listed and the e-mail carries the accept link.
        await tab.GotoAsync($"/orgs/{slug}/team");
        await tab.Page.FillAsync("#invite-email", invitee.Email);
        await tab.Page.SelectOptionAsync("#invite-role", "admin");
        await SubmitAsync(tab, "Send invitation");
        await tab.Page.Locator(".notice.ok").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Contains(invitee.Email, await tab.Page.InnerTextAsync("#invitations"));
        var mail = server.Emails.Last(e => e.To == invitee.Email);
        var link = InviteLink().Match(mail.Text).Value;
        Assert.NotEmpty(link);

        // The invitee opens the link in their own browser and accepts.
        await using (var second = await DashboardTab.OpenAsync(server, invitee))
        {
            await second.GotoAsync(new Uri(link).PathAndQuery);
            Assert.Equal($"Join {name}", await second.HeadingAsync());
            Assert.Equal("admin", await second.Page.InnerTextAsync("#invite-role"));
            Assert.Equal("Test User", await second.Page.InnerTextAsync("#inviter"));
            await second.Page.ClickAsync("button:has-text('Accept invitation')");
            await second.Page.WaitForURLAsync($"**/orgs/{slug}", new() { WaitUntil = WaitUntilState.Commit });
            await Assertions.Expect(second.Page.Locator("h1")).ToHaveTextAsync(name);
            await second.ScreenshotAsync();
            Assert.Equal(name, await second.HeadingAsync());
        }
        await using (var db = server.NewDbContext())
            Assert.Equal(OrgRole.Admin, (await db.OrgMembers.SingleAsync(m => m.UserId == invitee.Id && db.Orgs.Any(o => o.Id == m.OrgId && o.Slug == slug))).Role);

        await tab.GotoAsync($"/orgs/{slug}/team");
        Assert.Equal("admin", (await tab.Page.InnerTextAsync($"#members tr[data-user='{invitee.Id}'] td.role")).Trim());
        Assert.Equal(0, await tab.Page.Locator("#invitations").CountAsync());
    }

    [Fact]
    public async Task Manager_adds_a_repository_and_exports_the_cycle_as_csv()
    {
        var owner = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        await using var tab = await DashboardTab.OpenAsync(server, owner);

        await tab.GotoAsync($"/orgs/{org.Slug}/repositories");
        await tab.Page.FillAsync("#repo-url", "git@github.com:Acme/Widget.git");
        await SubmitAsync(tab, "Add repository");
        await tab.Page.Locator("#repositories").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Contains("https://github.com/acme/widget", await tab.Page.InnerTextAsync("#repositories"));
        await using (var db = server.NewDbContext())
        {
            var repo = await db.OrgRepos.SingleAsync(r => r.OrgId == org.Id);
            Assert.Equal(("https://github.com/acme/widget", "widget", owner.Id, true), (repo.RepoUrl, repo.RepoName, repo.ApprovedBy, repo.IsActive));
        }

        // The same URL again is refused, as the API refuses it, and nothing is added.
        await tab.Page.FillAsync("#repo-url", "https://github.com/acme/widget");
        await SubmitAsync(tab, "Add repository");
        await tab.Page.Locator("[role=alert]").WaitForAsync();
        Assert.Equal("Repository already added to organization", (await tab.Page.InnerTextAsync("[role=alert]")).Trim());
        await using (var db = server.NewDbContext())
        {
            Assert.Equal(1, await db.OrgRepos.CountAsync(r => r.OrgId == org.Id));
            // A billed call as ChargeSql records it: the message row and its day in the org's rollup.
            var finished = server.Clock.GetUtcNow().UtcDateTime.AddMinutes(-1);
            db.Messages.Add(new Message
            {
                Id = $"gen-{Guid.NewGuid():N}", UserId = owner.Id, OrgId = org.Id, RepoUrl = "https://github.com/acme/widget", Model = "m/test",
                Response = "\"\"", Credits = 42, OutputTokens = 1, FinishedAt = finished,
            });
            await db.SaveChangesAsync();
            await db.Database.ExecuteSqlAsync($"INSERT INTO rollup.org_user_day (org_id, day, user_id, calls, credits) VALUES ({org.Id}, {DateOnly.FromDateTime(finished)}, {owner.Id}, 1, 42)");
        }

        await tab.GotoAsync($"/orgs/{org.Slug}/usage");
        Assert.Contains("https://github.com/acme/widget", await tab.Page.InnerTextAsync("#recent-usage"));
        Assert.Equal("42", await tab.Page.InnerTextAsync("#usage-cycle"));
        Assert.Equal(["Test User", owner.Email, "42", "100%"], (await tab.Page.Locator("#top-users tbody td").AllInnerTextsAsync()).Select(c => c.Trim()));
        Assert.True(await tab.Page.Locator("#low-balance").IsVisibleAsync()); // no credits at all
        var download = await tab.Page.RunAndWaitForDownloadAsync(() => tab.Page.ClickAsync("#usage-export"));
        Assert.Equal($"{org.Slug}-usage-{server.Clock.GetUtcNow():yyyy-MM-dd}.csv", download.SuggestedFilename);
        var lines = (await File.ReadAllTextAsync((await download.PathAsync())!)).TrimEnd('\n').Split('\n');
        Assert.Equal("date,user_name,user_email,repository_url,model,credits", lines[0]);
        Assert.Equal(2, lines.Length);
        Assert.EndsWith($",\"Test User\",\"{owner.Email}\",\"https://github.com/acme/widget\",\"m/test\",42", lines[1]);
    }

    [Fact]
    public async Task A_member_sees_no_manager_forms_and_an_outsider_gets_404()
    {
        var owner = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var outsider = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner, (member, OrgRole.Member));
        await server.AddRepoAsync(org, owner, "https://github.com/acme/tools");

        await using (var tab = await DashboardTab.OpenAsync(server, member))
        {
            await tab.GotoAsync("/orgs");
            Assert.Contains(org.Name, await tab.Page.InnerTextAsync("table"));
            foreach (var page in new[] { "team", "repositories", "usage", "settings" })
            {
                var response = await tab.GotoAsync($"/orgs/{org.Slug}/{page}");
                Assert.Equal(200, response!.Status);
                Assert.Equal(0, await tab.Page.Locator("main form").CountAsync());
            }
            Assert.Contains("Only owners and admins", await tab.Page.InnerTextAsync("main"));
            await tab.GotoAsync($"/orgs/{org.Slug}/team");
            Assert.Contains(owner.Email, await tab.Page.InnerTextAsync("#members"));
            Assert.Equal(0, await tab.Page.Locator("#invite-email").CountAsync());
        }

        await using (var tab = await DashboardTab.OpenAsync(server, outsider))
        {
            foreach (var path in new[] { $"/orgs/{org.Slug}", $"/orgs/{org.Slug}/team", $"/orgs/{org.Slug}/usage" })
            {
                var response = await tab.GotoAsync(path);
                Assert.Equal(404, response!.Status);
                Assert.Equal("Organization not found", await tab.HeadingAsync());
                Assert.DoesNotContain(org.Name, await tab.Page.InnerTextAsync("main"));
            }
        }
    }

    [Fact]
    public async Task Invitation_page_states_expired_invalid_mismatch_and_signed_out()
    {
        var owner = await server.CreateUserAsync();
        var invitee = await server.CreateUserAsync();
        var stranger = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        var (status, body) = await server.ClientFor(owner).SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = invitee.Email, role = "member" });
        Assert.True(status == HttpStatusCode.Created, body);
        string token;
        await using (var db = server.NewDbContext())
            token = (await db.OrgInvites.SingleAsync(i => i.OrgId == org.Id)).Token;

        await using (var tab = await DashboardTab.OpenAsync(server))
        {
            await tab.GotoAsync($"/invites/{token}");
            Assert.Equal($"Join {org.Name}", await tab.HeadingAsync());
            Assert.Equal($"/login?next=%2Finvites%2F{token}", await tab.Page.GetAttributeAsync("#sign-in-to-accept", "href"));

            var missing = await tab.GotoAsync("/invites/not-a-token");
            Assert.Equal(404, missing!.Status);
            Assert.Equal("Invitation not found", await tab.HeadingAsync());
        }

        // The wrong account is refused with 403 and nothing changes.
        await using (var tab = await DashboardTab.OpenAsync(server, stranger))
        {
            await tab.GotoAsync($"/invites/{token}");
            var answer = await tab.Page.RunAndWaitForResponseAsync(() => tab.Page.ClickAsync("button:has-text('Accept invitation')"), r => r.Request.Method == "POST");
            Assert.Equal(403, answer.Status);
            await tab.Page.Locator("h1:has-text('another account')").WaitForAsync();
            await tab.ScreenshotAsync();
            Assert.Equal("This invitation is for another account", await tab.HeadingAsync());
        }
        Assert.DoesNotContain(await server.MembersAsync(org), m => m.UserId == stranger.Id);

        await using (var db = server.NewDbContext())
            await db.OrgInvites.Where(i => i.Token == token).ExecuteUpdateAsync(s => s.SetProperty(i => i.ExpiresAt, DateTime.UtcNow.AddDays(-30)));
        await using (var tab = await DashboardTab.OpenAsync(server, invitee))
        {
            var expired = await tab.GotoAsync($"/invites/{token}");
            Assert.Equal(410, expired!.Status);
            Assert.Equal("Invitation no longer valid", await tab.HeadingAsync());
            Assert.Contains("Invitation has expired", await tab.Page.InnerTextAsync("[role=alert]"));
        }
    }

    [Fact]
    public async Task Admin_orgs_is_refused_to_a_non_admin_and_lists_every_org_for_the_site_admin()
    {
        var owner = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        await server.AddRepoAsync(org, owner, "https://github.com/acme/admin-view");
        await server.GrantOrgCreditsAsync(org, owner, 5000);

        await using (var tab = await DashboardTab.OpenAsync(server, owner))
        {
            var refused = await tab.GotoAsync("/admin/orgs");
            Assert.Equal(403, refused!.Status);
            Assert.Equal("Access Denied", await tab.HeadingAsync());
            Assert.DoesNotContain(org.Name, await tab.Page.InnerTextAsync("main"));
        }

        await using (var tab = await DashboardTab.OpenAsync(server, await server.SiteAdminAsync()))
        {
            var shown = await tab.GotoAsync("/admin/orgs");
            Assert.Equal(200, shown!.Status);
            Assert.Equal("All organizations", await tab.HeadingAsync());
            var cells = await tab.Page.Locator($"#admin-orgs tr[data-org='{org.Id}'] td").AllInnerTextsAsync();
            Assert.Equal([org.Name, org.Slug, owner.Email, "1", "1", "5,000", "0", "healthy"], cells.Take(8).Select(c => c.Trim()));
        }
    }

    /// <summary>
    /// Posts a form by its button and waits until the whole answer has arrived: an enhanced form's answer streams in,
    /// and posting the next form before it ends would abort it (a failed request the tab reports).
    /// </summary>
    static async Task SubmitAsync(DashboardTab tab, string button)
    {
        var response = await tab.Page.RunAndWaitForResponseAsync(() => tab.Page.ClickAsync($"button:has-text('{button}')"), r => r.Request.Method == "POST");
        // The whole answer, not just its headers. Bounded: once in a full run Playwright never reported the end of a
        // form's answer (the page had moved on) and the suite hung here; the callers then wait for what they check.
        try { await response.FinishedAsync().WaitAsync(TimeSpan.FromSeconds(15)); }
        catch (TimeoutException) { }
    }

    [GeneratedRegex(@"https?://\S+/invites/[0-9a-f-]{36}")]
    private static partial Regex InviteLink();
}
