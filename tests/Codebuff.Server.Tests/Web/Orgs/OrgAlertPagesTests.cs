using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Orgs;
using Codebuff.Server.Tests.Payments;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web.Orgs;

/// <summary>The org overview shows the org's alerts to every member (on either instance); admins dismiss them there.</summary>
public sealed class OrgAlertPagesTests(AlertFixture server) : IClassFixture<AlertFixture>
{
    [Fact]
    public async Task The_overview_lists_alerts_for_members_and_an_admin_dismisses_them()
    {
        server.Clock.Now = DateTimeOffset.UtcNow;
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        using var client = server.ClientFor(owner);
        var created = (await (await client.PostAsJsonAsync("/api/orgs", new { name = "Alerted " + Guid.NewGuid().ToString("N")[..8] })).Content.ReadFromJsonAsync<JsonObject>())!;
        var (orgId, slug) = ((string)created["id"]!, (string)created["slug"]!);
        await using (var db = server.NewDbContext())
        {
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = admin.Id, Role = OrgRole.Admin, JoinedAt = DateTime.UtcNow });
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = member.Id, Role = OrgRole.Member, JoinedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }
        await server.GrantAsync(orgId, owner, 100);
        (await client.PatchAsJsonAsync($"/api/orgs/{orgId}/settings", new { autoTopupEnabled = false, autoTopupThreshold = 500 })).EnsureSuccessStatusCode();
        await PaymentFixture.EventuallyAsync(() => Task.FromResult(server.Emails.Count(m => m.To == admin.Email && m.Subject.EndsWith(": Low Credit Balance")) == 1),
            "the low-balance alert e-mailed");

        // A member, on the second instance: the alert, no dismiss button.
        await using (var tab = await DashboardTab.OpenAsync(server.SecondAddress, await server.WebSessionTokenAsync(member)))
        {
            await tab.GotoAsync($"/orgs/{slug}");
            var alert = tab.Page.Locator("#org-alerts [data-alert=low_balance]");
            Assert.Contains("Low Credit Balance", await alert.InnerTextAsync());
            Assert.Contains("has 100 credits left, below its threshold of 500, and auto top-up is off.", await alert.InnerTextAsync());
            Assert.Equal(0, await tab.Page.Locator("#org-alerts button").CountAsync());
        }

        // The admin dismisses it on the first instance: gone from the page and from the API for everyone.
        await using (var tab = await DashboardTab.OpenAsync(server, admin))
        {
            await tab.GotoAsync($"/orgs/{slug}");
            await tab.Page.ClickAsync("#org-alerts button:has-text('Dismiss')");
            await tab.Page.Locator(".notice.ok").WaitForAsync();
            Assert.Equal("Alert dismissed.", (await tab.Page.Locator(".notice.ok").InnerTextAsync()).Trim());
            Assert.Equal(0, await tab.Page.Locator("#org-alerts").CountAsync());
            await tab.ScreenshotAsync();
        }
        using var memberApi = server.ClientFor(member, server.SecondAddress);
        Assert.Equal("""{"alerts":[]}""", await memberApi.GetStringAsync($"/api/orgs/{orgId}/alerts"));
    }

    [Fact]
    public async Task The_settings_page_switches_alerts_off_and_on_and_a_switched_off_alert_is_gone_at_once()
    {
        server.Clock.Now = DateTimeOffset.UtcNow;
        var owner = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        using var client = server.ClientFor(owner);
        var created = (await (await client.PostAsJsonAsync("/api/orgs", new { name = "Switches " + Guid.NewGuid().ToString("N")[..8] })).Content.ReadFromJsonAsync<JsonObject>())!;
        var (orgId, slug) = ((string)created["id"]!, (string)created["slug"]!);
        await using (var db = server.NewDbContext())
        {
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = member.Id, Role = OrgRole.Member, JoinedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }
        await server.GrantAsync(orgId, owner, 100);
        (await client.PatchAsJsonAsync($"/api/orgs/{orgId}/settings", new { autoTopupEnabled = false, autoTopupThreshold = 500 })).EnsureSuccessStatusCode();
        using var memberApi = server.ClientFor(member, server.SecondAddress);
        await PaymentFixture.EventuallyAsync(async () => (await memberApi.GetStringAsync($"/api/orgs/{orgId}/alerts")).Contains("low_balance"), "the low-balance alert raised");

        await using (var tab = await DashboardTab.OpenAsync(server, owner))
        {
            await tab.GotoAsync($"/orgs/{slug}/settings");
            Assert.True(await tab.Page.IsCheckedAsync("#billing-alerts"));
            Assert.False(await tab.Page.IsCheckedAsync("#weekly-reports")); // the seed's default: off
            await tab.Page.UncheckAsync("#billing-alerts");
            await tab.Page.CheckAsync("#weekly-reports");
            await tab.Page.ClickAsync("form:has(#billing-alerts) button[type=submit]");
            await tab.Page.Locator(".notice.ok").WaitForAsync();
            Assert.Equal("Alert and report settings saved.", (await tab.Page.Locator(".notice.ok").InnerTextAsync()).Trim());
            Assert.False(await tab.Page.IsCheckedAsync("#billing-alerts"));
            Assert.True(await tab.Page.IsCheckedAsync("#usage-alerts"));
            Assert.True(await tab.Page.IsCheckedAsync("#weekly-reports"));
        }
        await using (var db = server.NewDbContext())
        {
            var org = await db.Orgs.AsNoTracking().SingleAsync(o => o.Id == orgId);
            Assert.Equal((false, true, true), (org.BillingAlerts, org.UsageAlerts, org.WeeklyReports));
        }
        // Off: the open alert is gone for members at once, on the other instance too.
        Assert.Equal("""{"alerts":[]}""", await memberApi.GetStringAsync($"/api/orgs/{orgId}/alerts"));

        await using (var tab = await DashboardTab.OpenAsync(server, owner))
        {
            await tab.GotoAsync($"/orgs/{slug}/settings");
            await tab.Page.CheckAsync("#billing-alerts");
            await tab.Page.ClickAsync("form:has(#billing-alerts) button[type=submit]");
            await tab.Page.Locator(".notice.ok").WaitForAsync();
        }
        // On again: the condition still holds, so the alert is back.
        await PaymentFixture.EventuallyAsync(async () => (await memberApi.GetStringAsync($"/api/orgs/{orgId}/alerts")).Contains("low_balance"), "the low-balance alert back");
    }
}
