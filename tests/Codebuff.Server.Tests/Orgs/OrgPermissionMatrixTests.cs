using System.Net.Http.Headers;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

using static Codebuff.Server.Tests.Orgs.OrgHttp;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>
/// Every org route × (anonymous, outsider, member, admin, owner, site admin): status and exact body of each refusal,
/// the success body and its effect for each allowed caller, and nothing changed by a refused call. Members and owners
/// call with the dashboard's web session cookie, everyone else with a personal access token (Bearer), so every route
/// is exercised with both credentials.
/// </summary>
public sealed class OrgPermissionMatrixTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    public enum Caller { Anonymous, Outsider, Member, Admin, Owner, SiteAdmin }

    /// <summary>Who may call: anyone, any signed-in user, members and up, admins and up, owners, the invitee, site admins.</summary>
    enum Access { Anyone, User, Member, Admin, Owner, Invitee, SiteAdmin }

    /// <summary>One org with an owner, an admin, a member and a second member ("target"), a repository, an invitation to the outsider and a feature row.</summary>
    sealed record World(OrgFixture Server, TestOrg Org, TestUser Owner, TestUser Admin, TestUser Member, TestUser Target, TestUser Outsider, TestUser Fresh, TestUser SiteAdmin,
        string RepoId, string InviteToken);

    sealed record Route(string Name, HttpMethod Method, Func<World, string> Path, Func<World, object?> Body, Access Access,
        Func<World, TestUser, HttpResponseMessage, JsonNode, Task> Succeeded, string Refusal = "Insufficient permissions");

    static readonly Route[] Routes =
    [
        new("list orgs", HttpMethod.Get, _ => "/api/orgs", _ => null, Access.User, async (w, me, r, json) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var mine = json["organizations"]!.AsArray().Where(o => (string?)o!["id"] == w.Org.Id).ToList();
            if (me == w.Outsider || me == w.SiteAdmin) Assert.Empty(mine);
            else Assert.Equal(4, (int)Assert.Single(mine)!["memberCount"]!);
            await Task.CompletedTask;
        }),
        new("create org", HttpMethod.Post, _ => "/api/orgs", _ => new { name = "Matrix Made " + Guid.NewGuid().ToString("N")[..6] }, Access.User, async (w, me, r, json) =>
        {
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            Assert.Equal(me.Id, (string?)json["owner_id"]);
            await using var db = w.Server.NewDbContext();
            Assert.Equal(OrgRole.Owner, (await db.OrgMembers.SingleAsync(m => m.OrgId == (string)json["id"]!)).Role);
        }),
        new("get by slug", HttpMethod.Get, w => $"/api/orgs/slug/{w.Org.Slug}", _ => null, Access.Member, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, w.Org.Id, w.Owner.Id), (r.StatusCode, (string?)json["id"], (string?)json["owner_id"]));
            await Task.CompletedTask;
        }),
        new("get org", HttpMethod.Get, w => $"/api/orgs/{w.Org.Id}", _ => null, Access.Member, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, w.Org.Name, 4, 1, 0), (r.StatusCode, (string?)json["name"], (int)json["memberCount"]!, (int)json["repositoryCount"]!, (int)json["creditBalance"]!));
            Assert.Equal(RoleOf(w, me), (string?)json["userRole"]);
            await Task.CompletedTask;
        }),
        new("update org", HttpMethod.Patch, w => $"/api/orgs/{w.Org.Id}", _ => new { name = "Renamed Org", description = "new words" }, Access.Admin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, "Renamed Org", "new words", w.Org.Slug), (r.StatusCode, (string?)json["name"], (string?)json["description"], (string?)json["slug"]));
            await Task.CompletedTask;
        }),
        new("delete org", HttpMethod.Delete, w => $"/api/orgs/{w.Org.Id}", _ => null, Access.Owner, OrgDeleted, "Only organization owners can delete organizations"),
        new("get settings", HttpMethod.Get, w => $"/api/orgs/{w.Org.Id}/settings", _ => null, Access.Admin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, true, 5000, 20000), (r.StatusCode, (bool)json["autoTopupEnabled"]!, (int)json["autoTopupThreshold"]!, (int)json["autoTopupAmount"]!));
            await Task.CompletedTask;
        }),
        new("update settings", HttpMethod.Patch, w => $"/api/orgs/{w.Org.Id}/settings", _ => new { creditLimit = 1234, weeklyReports = true }, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            await using var db = w.Server.NewDbContext();
            var org = await db.Orgs.SingleAsync(o => o.Id == w.Org.Id);
            Assert.Equal((1234, true), (org.CreditLimit, org.WeeklyReports));
        }),
        new("delete via settings", HttpMethod.Delete, w => $"/api/orgs/{w.Org.Id}/settings", _ => null, Access.Owner, OrgDeleted, "Only organization owners can delete organizations"),
        new("list members", HttpMethod.Get, w => $"/api/orgs/{w.Org.Id}/members", _ => null, Access.Member, async (w, me, r, json) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var members = json["members"]!.AsArray().Select(m => ((string)m!["user"]!["email"]!, (string)m["role"]!)).OrderBy(m => m).ToList();
            Assert.Equal(new[] { (w.Owner.Email, "owner"), (w.Admin.Email, "admin"), (w.Member.Email, "member"), (w.Target.Email, "member") }.OrderBy(m => m), members);
            await Task.CompletedTask;
        }),
        new("add member", HttpMethod.Post, w => $"/api/orgs/{w.Org.Id}/members", w => new { email = w.Fresh.Email, role = "member" }, Access.Admin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), (r.StatusCode, json.ToJsonString()));
            Assert.DoesNotContain(await w.Server.MembersAsync(w.Org), m => m.UserId == w.Fresh.Id);
            Assert.Contains((w.Fresh.Id, "member"), await w.Server.PendingAsync(w.Org));
        }),
        new("change role", HttpMethod.Patch, w => $"/api/orgs/{w.Org.Id}/members/{w.Target.Id}", _ => new { role = "admin" }, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            Assert.Contains(await w.Server.MembersAsync(w.Org), m => m.UserId == w.Target.Id && m.Role == OrgRole.Admin);
        }),
        new("remove member", HttpMethod.Delete, w => $"/api/orgs/{w.Org.Id}/members/{w.Target.Id}", _ => null, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            Assert.DoesNotContain(await w.Server.MembersAsync(w.Org), m => m.UserId == w.Target.Id);
        }),
        new("list invitations", HttpMethod.Get, w => $"/api/orgs/{w.Org.Id}/invitations", _ => null, Access.Member, async (w, me, r, json) =>
        {
            var invitation = Assert.Single(json["invitations"]!.AsArray())!;
            Assert.Equal((HttpStatusCode.OK, w.Outsider.Email, "member", "Test User"), (r.StatusCode, (string?)invitation["email"], (string?)invitation["role"], (string?)invitation["invited_by_name"]));
            await Task.CompletedTask;
        }),
        new("invite", HttpMethod.Post, w => $"/api/orgs/{w.Org.Id}/invitations", w => new { email = w.Fresh.Email, role = "admin" }, Access.Admin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), (r.StatusCode, json.ToJsonString()));
            await using var db = w.Server.NewDbContext();
            Assert.Equal(OrgRole.Admin, (await db.OrgInvites.SingleAsync(i => i.OrgId == w.Org.Id && i.Email == w.Fresh.Email)).Role);
        }),
        new("bulk invite", HttpMethod.Post, w => $"/api/orgs/{w.Org.Id}/invitations/bulk", w => new { invitations = new[] { new { email = w.Fresh.Email, role = "member" } } }, Access.Admin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.Created, """{"success":true,"added":1,"skipped":[]}"""), (r.StatusCode, json.ToJsonString()));
            Assert.Contains((w.Fresh.Id, "member"), await w.Server.PendingAsync(w.Org));
        }),
        new("revoke invitation", HttpMethod.Delete, w => $"/api/orgs/{w.Org.Id}/invitations/{Uri.EscapeDataString(w.Outsider.Email)}", _ => null, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            await using var db = w.Server.NewDbContext();
            Assert.False(await db.OrgInvites.AnyAsync(i => i.OrgId == w.Org.Id));
        }),
        new("resend invitation", HttpMethod.Post, w => $"/api/orgs/{w.Org.Id}/invitations/{Uri.EscapeDataString(w.Outsider.Email)}/resend", _ => null, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            await using var db = w.Server.NewDbContext();
            var invite = await db.OrgInvites.SingleAsync(i => i.OrgId == w.Org.Id);
            Assert.NotEqual(w.InviteToken, invite.Token);
            Assert.Equal(me.Id, invite.InvitedBy);
        }),
        new("list repos", HttpMethod.Get, w => $"/api/orgs/{w.Org.Id}/repos", _ => null, Access.Member, async (w, me, r, json) =>
        {
            var repo = Assert.Single(json["repositories"]!.AsArray())!;
            Assert.Equal((HttpStatusCode.OK, w.RepoId, "https://github.com/acme/app", w.Owner.Email), (r.StatusCode, (string?)repo["id"], (string?)repo["repository_url"], (string?)repo["approver"]!["email"]));
            await Task.CompletedTask;
        }),
        new("add repo", HttpMethod.Post, w => $"/api/orgs/{w.Org.Id}/repos", _ => new { repository_url = "git@github.com:Acme/Tools.git", repository_name = "tools" }, Access.Admin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.Created, "https://github.com/acme/tools", "acme", me.Id), (r.StatusCode, (string?)json["repository_url"], (string?)json["repo_owner"], (string?)json["approved_by"]));
            await Task.CompletedTask;
        }),
        new("deactivate repo", HttpMethod.Patch, w => $"/api/orgs/{w.Org.Id}/repos/{w.RepoId}", _ => new { isActive = false }, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            await using var db = w.Server.NewDbContext();
            Assert.False((await db.OrgRepos.SingleAsync(x => x.Id == w.RepoId)).IsActive);
        }),
        new("delete repo", HttpMethod.Delete, w => $"/api/orgs/{w.Org.Id}/repos/{w.RepoId}", _ => null, Access.Admin, async (w, me, r, json) =>
        {
            AssertSuccess(r, json);
            await using var db = w.Server.NewDbContext();
            Assert.False(await db.OrgRepos.AnyAsync(x => x.Id == w.RepoId));
        }),
        new("usage", HttpMethod.Get, w => $"/api/orgs/{w.Org.Id}/usage", _ => null, Access.Member, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, 0, 0, 0, 0), (r.StatusCode, (int)json["currentBalance"]!, (int)json["usageThisCycle"]!, json["topUsers"]!.AsArray().Count, json["recentUsage"]!.AsArray().Count));
            await Task.CompletedTask;
        }),
        new("show invitation", HttpMethod.Get, w => $"/api/invites/{w.InviteToken}", _ => null, Access.Anyone, async (w, me, r, json) =>
        {
            var invitation = json["invitation"]!;
            Assert.Equal((HttpStatusCode.OK, w.Org.Name, w.Org.Slug, w.Outsider.Email, "member", "Test User"),
                (r.StatusCode, (string?)invitation["organization_name"], (string?)invitation["organization_slug"], (string?)invitation["email"], (string?)invitation["role"], (string?)invitation["inviter_name"]));
            await Task.CompletedTask;
        }),
        new("accept invitation", HttpMethod.Post, w => $"/api/invites/{w.InviteToken}", _ => null, Access.Invitee, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, true, w.Org.Id, "member"), (r.StatusCode, (bool)json["success"]!, (string?)json["organization"]!["id"], (string?)json["organization"]!["role"]));
            Assert.Contains(await w.Server.MembersAsync(w.Org), m => m.UserId == w.Outsider.Id && m.Role == OrgRole.Member);
        }),
        new("read feature", HttpMethod.Get, w => $"/api/admin/orgs/{w.Org.Id}/features/sso", _ => null, Access.SiteAdmin, async (w, me, r, json) =>
        {
            Assert.Equal((HttpStatusCode.OK, w.Org.Id, "sso", """{"provider":"okta"}""", true), (r.StatusCode, (string?)json["org_id"], (string?)json["feature"], json["config"]!.ToJsonString(), (bool)json["is_active"]!));
            await Task.CompletedTask;
        }),
        new("set feature", HttpMethod.Post, w => $"/api/admin/orgs/{w.Org.Id}/features/sso", _ => new { provider = "azure", seats = 12 }, Access.SiteAdmin, async (w, me, r, json) =>
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"provider":"azure","seats":12}"""), json["config"]), json.ToJsonString()); // jsonb orders keys its own way
            await using var db = w.Server.NewDbContext();
            Assert.Equal("azure", (string?)JsonNode.Parse((await db.OrgFeatures.SingleAsync(f => f.OrgId == w.Org.Id)).Config!)!["provider"]);
        }),
    ];

    static string RoleOf(World w, TestUser me) => me == w.Owner ? "owner" : me == w.Admin ? "admin" : "member";

    static void AssertSuccess(HttpResponseMessage r, JsonNode json) =>
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), (r.StatusCode, json.ToJsonString()));

    static async Task OrgDeleted(World w, TestUser me, HttpResponseMessage r, JsonNode json)
    {
        AssertSuccess(r, json);
        await using var db = w.Server.NewDbContext();
        Assert.False(await db.Orgs.AnyAsync(o => o.Id == w.Org.Id));
        Assert.False(await db.OrgMembers.AnyAsync(m => m.OrgId == w.Org.Id)); // cascaded
        Assert.False(await db.OrgRepos.AnyAsync(m => m.OrgId == w.Org.Id));
    }

    public static TheoryData<string, Caller> Cases()
    {
        var data = new TheoryData<string, Caller>();
        foreach (var r in Routes) foreach (var c in Enum.GetValues<Caller>()) data.Add(r.Name, c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Route_answers_each_kind_of_caller(string routeName, Caller caller)
    {
        var route = Routes.Single(r => r.Name == routeName);
        var w = await WorldAsync();
        var me = caller switch
        {
            Caller.Anonymous => null,
            Caller.Outsider => w.Outsider,
            Caller.Member => w.Member,
            Caller.Admin => w.Admin,
            Caller.Owner => w.Owner,
            _ => w.SiteAdmin,
        };
        using var client = me is null ? new HttpClient { BaseAddress = server.BaseAddress }
            : caller is Caller.Member or Caller.Owner ? await server.CookieClientAsync(me) : server.ClientFor(me);
        using var request = new HttpRequestMessage(route.Method, route.Path(w));
        if (route.Body(w) is { } body) request.Content = JsonContent.Create(body);
        var before = await SnapshotAsync(w);

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        var refusal = Refusal(route, caller);
        if (refusal is { } expected)
        {
            Assert.Equal(((HttpStatusCode)expected.Status, expected.Body), (response.StatusCode, text));
            Assert.Equal(before, await SnapshotAsync(w));
            return;
        }
        await route.Succeeded(w, me!, response, JsonNode.Parse(text)!);
    }

    /// <summary>The refusal a caller must get, or null when the route must serve them.</summary>
    static (int Status, string Body)? Refusal(Route route, Caller caller)
    {
        if (route.Access == Access.Anyone) return null;
        if (caller == Caller.Anonymous) return (401, E("Unauthorized"));
        switch (route.Access)
        {
            case Access.User: return null;
            case Access.Invitee: return caller == Caller.Outsider ? null : (403, E("Invitation email does not match your account"));
            case Access.SiteAdmin: return caller == Caller.SiteAdmin ? null : (403, E("Forbidden - not an admin"));
        }
        if (caller is Caller.Outsider or Caller.SiteAdmin) return (404, E("Organization not found"));
        var rank = caller switch { Caller.Owner => 3, Caller.Admin => 2, _ => 1 };
        var needed = route.Access switch { Access.Owner => 3, Access.Admin => 2, _ => 1 };
        return rank >= needed ? null : (403, E(route.Refusal));
    }

    async Task<World> WorldAsync()
    {
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var target = await server.CreateUserAsync();
        var outsider = await server.CreateUserAsync();
        var fresh = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner, (admin, OrgRole.Admin), (member, OrgRole.Member), (target, OrgRole.Member));
        var repoId = await server.AddRepoAsync(org, owner, "https://github.com/acme/app");
        var invited = await server.ClientFor(owner).PostAsJsonAsync($"/api/orgs/{org.Id}/invitations", new { email = outsider.Email, role = "member" });
        Assert.True(invited.StatusCode == HttpStatusCode.Created, await invited.Content.ReadAsStringAsync());
        await using var db = server.NewDbContext();
        var token = (await db.OrgInvites.SingleAsync(i => i.OrgId == org.Id)).Token;
        db.OrgFeatures.Add(new OrgFeature { OrgId = org.Id, Feature = "sso", Config = """{"provider":"okta"}""", CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow });
        await db.SaveChangesAsync();
        return new World(server, org, owner, admin, member, target, outsider, fresh, await server.SiteAdminAsync(), repoId, token);
    }

    /// <summary>Everything a refused call might have touched.</summary>
    async Task<string> SnapshotAsync(World w)
    {
        await using var db = server.NewDbContext();
        var org = await db.Orgs.AsNoTracking().Where(o => o.Id == w.Org.Id).Select(o => new { o.Name, o.Description, o.CreditLimit, o.WeeklyReports, o.UpdatedAt }).FirstOrDefaultAsync();
        var members = await db.OrgMembers.AsNoTracking().Where(m => m.OrgId == w.Org.Id).OrderBy(m => m.UserId).Select(m => m.UserId + ":" + m.Role).ToListAsync();
        var invites = await db.OrgInvites.AsNoTracking().Where(i => i.OrgId == w.Org.Id).OrderBy(i => i.Id).Select(i => i.Email + ":" + i.Token + ":" + i.AcceptedAt).ToListAsync();
        var repos = await db.OrgRepos.AsNoTracking().Where(r => r.OrgId == w.Org.Id).OrderBy(r => r.Id).Select(r => r.RepoUrl + ":" + r.IsActive).ToListAsync();
        var features = await db.OrgFeatures.AsNoTracking().Where(f => f.OrgId == w.Org.Id).Select(f => new { f.Feature, f.Config, f.UpdatedAt }).ToListAsync();
        var orgsOfFresh = await db.OrgMembers.CountAsync(m => m.UserId == w.Fresh.Id);
        return JsonSerializer.Serialize(new { org, members, invites, repos, features, orgsOfFresh });
    }
}
