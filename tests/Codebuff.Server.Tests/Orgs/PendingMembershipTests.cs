using Codebuff.Server.Data;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Web;
using Microsoft.EntityFrameworkCore;

using static Codebuff.Server.Tests.Orgs.OrgHttp;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>
/// Nobody pays for, or is refused by, an org they did not choose (Orgs/PendingMembers). The attack: anyone creates an
/// org, adds a victim by e-mail, approves the victim's public repository, and the empty org refuses (402) every call
/// the victim makes with that repo_url; the add also told the attacker which addresses have accounts.
/// </summary>
public sealed class PendingMembershipTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    const int Pricey = 53;

    async Task<(HttpStatusCode Status, string Text)> ChatAsync(TestUser user, string repoUrl)
    {
        using var client = server.ClientFor(user);
        var body = ChatFixture.ChatBody("anthropic/pricey", await server.StartRunAsync(client), stream: false);
        body["codebuff_metadata"]!["repo_url"] = repoUrl;
        var response = await client.PostChatAsync(body);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <param name="token">An antiforgery token of the user's (any page's), for a post when /orgs shows no request to answer.</param>
    static Task<(HttpStatusCode Status, string Body)> AnswerAsync(HttpClient dashboard, TestOrg org, string answer, string? token = null) =>
        PageForms.PostAsync(dashboard, "/orgs", "membership-request", new Dictionary<string, string> { ["orgId"] = org.Id, ["answer"] = answer }, token);

    [Fact]
    public async Task A_directly_added_user_is_neither_billed_nor_refused_until_they_accept_on_the_dashboard()
    {
        var victim = await server.CreateUserAsync(credits: 1000);
        var attacker = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(attacker);
        var repo = "https://github.com/victim" + Guid.NewGuid().ToString("N")[..6] + "/app";
        var asAttacker = server.ClientFor(attacker);
        Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), await asAttacker.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = victim.Email, role = "member" }));
        Assert.Equal(HttpStatusCode.Created, (await asAttacker.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/repos", new { repository_url = repo, repository_name = "app" })).Item1);

        // Pending: the victim's work on that repository stays personal, and the empty org refuses nothing.
        Assert.DoesNotContain(await server.MembersAsync(org), m => m.UserId == victim.Id);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(victim, repo)).Status);
        var message = Assert.Single(await server.WaitForMessagesAsync(victim.Id, 1));
        Assert.Equal(((string?)null, (string?)null), (message.OrgId, message.RepoUrl));
        Assert.Equal(1000 - Pricey, await server.PersonalBalanceAsync(victim));
        using (var asVictim = server.ClientFor(victim))
        {
            var search = await asVictim.PostAsJsonAsync("/api/v1/web-search", new { query = "x", repoUrl = repo });
            Assert.Equal(HttpStatusCode.OK, search.StatusCode);
            Assert.Equal((HttpStatusCode.NotFound, E("Organization not found")), await asVictim.SendAsync(HttpMethod.Get, $"/api/orgs/{org.Id}"));
        }
        // The org's admins see who has not answered yet.
        using (var team = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(attacker)))
            Assert.Contains($"<td>{victim.Email}</td><td>member</td>", await team.GetStringAsync($"/orgs/{org.Slug}/team"));
        var mail = Assert.Single(server.Emails, m => m.To == victim.Email);
        Assert.Contains("Nothing changes until you accept", mail.Text);

        // The dashboard asks; accepting joins, and from then on the org pays for (here: refuses, it has no credits) that work.
        using var dashboard = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(victim));
        var orgs = await dashboard.GetStringAsync("/orgs");
        Assert.Contains("membership-requests", orgs);
        Assert.Contains(org.Name, orgs);
        var (status, page) = await AnswerAsync(dashboard, org, "accept");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"You joined {org.Name}.", page);
        Assert.Contains(await server.MembersAsync(org), m => m.UserId == victim.Id && m.Role == OrgRole.Member);
        Assert.Empty(await server.PendingAsync(org));
        Assert.Equal((HttpStatusCode.PaymentRequired, """{"message":"Insufficient organization credits"}"""), await ChatAsync(victim, repo));
        var token = await PageForms.TokenAsync(dashboard, "/profile?tab=api-keys");
        // Answered already: the page offers no such form any more, so the post is refused and changes nothing.
        Assert.Equal(HttpStatusCode.BadRequest, (await AnswerAsync(dashboard, org, "accept", token)).Status);
        Assert.Single(await server.MembersAsync(org), m => m.UserId == victim.Id);
    }

    [Fact]
    public async Task Declining_leaves_no_membership_and_the_add_answers_alike_for_every_address()
    {
        var owner = await server.CreateUserAsync();
        var existing = await server.CreateUserAsync(credits: 100);
        var org = await server.CreateOrgAsync(owner);
        var asOwner = server.ClientFor(owner);
        var stranger = $"nobody{Guid.NewGuid():N}@example.com";

        // The same answer whether or not the address has an account: the adder cannot probe for accounts.
        var answers = new[] { existing.Email, stranger }.Select(email => asOwner.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email, role = "admin" }));
        Assert.All(await Task.WhenAll(answers), a => Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), a));
        Assert.Equal([(existing.Id, "admin")], await server.PendingAsync(org));
        await using (var db = server.NewDbContext())
            Assert.Equal(OrgRole.Admin, (await db.OrgInvites.SingleAsync(i => i.OrgId == org.Id && i.Email == stranger)).Role);
        Assert.Contains(server.Emails, m => m.To == stranger && m.Text.Contains("/invites/"));
        // Asking again changes nothing visible either.
        Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), await asOwner.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = stranger, role = "member" }));

        using var dashboard = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(existing));
        var (status, page) = await AnswerAsync(dashboard, org, "decline");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"You declined to join {org.Name}.", page);
        Assert.DoesNotContain("membership-requests", page);
        Assert.Empty(await server.PendingAsync(org));
        Assert.DoesNotContain(await server.MembersAsync(org), m => m.UserId == existing.Id);

        // A request for someone else cannot be answered by another user.
        Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), await asOwner.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = existing.Email, role = "member" }));
        using var other = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(await server.CreateUserAsync()));
        Assert.Equal(HttpStatusCode.BadRequest, (await AnswerAsync(other, org, "accept", await PageForms.TokenAsync(other, "/profile?tab=api-keys"))).Status);
        Assert.Equal([(existing.Id, "member")], await server.PendingAsync(org));
    }
}
