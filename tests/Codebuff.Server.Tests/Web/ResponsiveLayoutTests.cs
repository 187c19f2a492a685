using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Orgs;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// Every dashboard page at a desktop (1280 px) and a phone (390 px) width: each is saved as a screenshot under
/// TestResults/screenshots, and none may scroll sideways or have an element reaching past the viewport.
/// </summary>
public sealed class ResponsiveLayoutTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    static readonly string[] SignedOutPages = ["/", "/login", "/signup", "/forgot-password", "/store", "/evals"];

    static readonly string[] SignedInPages =
    [
        "/", "/store", "/evals", "/profile?tab=usage", "/profile?tab=security", "/profile?tab=api-keys", "/profile?tab=referrals",
        "/profile?tab=account", "/orgs", "/orgs/new", "/orgs/{org}", "/orgs/{org}/team", "/orgs/{org}/usage", "/orgs/{org}/settings",
        "/orgs/{org}/repositories", "/publishers/new", "/runs", "/runs/{run}", "/admin", "/admin/orgs", "/admin/traces", "/admin/health",
    ];

    [Theory]
    [InlineData(1280)]
    [InlineData(390)]
    public async Task Every_page_fits_the_width(int width)
    {
        var admin = await server.SiteAdminAsync();
        var member = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(admin, (member, Codebuff.Server.Data.OrgRole.Member));
        await server.AddRepoAsync(org, admin, "https://github.com/example/a-rather-long-repository-name-for-a-narrow-screen");
        var start = await server.ClientFor(admin).PostAsync("/api/v1/agent-runs",
            new StringContent("""{"action":"START","agentId":"a-rather-long-agent-identifier-for-a-narrow-screen","ancestorRunIds":[]}"""));
        start.EnsureSuccessStatusCode();
        var runId = (string)(await start.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["runId"]!;
        var problems = new List<string>();

        await using (var signedOut = await DashboardTab.OpenAsync(server, width: width, test: $"SignedOut"))
            foreach (var path in SignedOutPages) await CheckAsync(signedOut, path);
        await using (var signedIn = await DashboardTab.OpenAsync(server, admin, width, test: $"SignedIn"))
            foreach (var path in SignedInPages) await CheckAsync(signedIn, path.Replace("{org}", org.Slug).Replace("{run}", runId));
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        async Task CheckAsync(DashboardTab tab, string path)
        {
            var response = await tab.GotoAsync(path);
            Assert.Equal(200, response!.Status);
            problems.AddRange((await tab.OverflowAsync()).Select(p => $"{path} at {width}px: {p}"));
        }
    }
}
