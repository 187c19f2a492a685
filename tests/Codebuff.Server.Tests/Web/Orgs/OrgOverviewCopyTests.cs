using Codebuff.Server.Data;
using Codebuff.Server.Tests.Orgs;

namespace Codebuff.Server.Tests.Web.Orgs;

/// <summary>The overview's sentence about the reader's role, with the article each role takes.</summary>
public sealed class OrgOverviewCopyTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    [Fact]
    public async Task The_overview_names_the_readers_role_with_its_article()
    {
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner, (admin, OrgRole.Admin), (member, OrgRole.Member));
        foreach (var (user, sentence) in new[] { (owner, "You are an owner."), (admin, "You are an admin."), (member, "You are a member.") })
        {
            await using var tab = await DashboardTab.OpenAsync(server, user);
            await tab.GotoAsync($"/orgs/{org.Slug}");
            Assert.Contains(sentence, await tab.Page.InnerTextAsync("main"));
        }
    }
}
