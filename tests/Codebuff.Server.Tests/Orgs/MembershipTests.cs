using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

using static Codebuff.Server.Tests.Orgs.OrgHttp;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>Roles owner &gt; admin &gt; member; only owners touch owners; the last owner stays.</summary>
public sealed class MembershipTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    const string LastOwner = "An organization must keep at least one owner: make another member an owner first";

    [Fact]
    public async Task The_last_owner_can_neither_leave_nor_be_demoted_nor_removed()
    {
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner, (admin, OrgRole.Admin));
        var asOwner = server.ClientFor(owner);

        Assert.Equal((HttpStatusCode.BadRequest, E(LastOwner)), await asOwner.SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/members/{owner.Id}"));
        Assert.Equal((HttpStatusCode.BadRequest, E(LastOwner)), await asOwner.SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{owner.Id}", new { role = "member" }));
        Assert.Equal((HttpStatusCode.Forbidden, E("Only owners can remove other owners")), await server.ClientFor(admin).SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/members/{owner.Id}"));
        Assert.Equal((HttpStatusCode.Forbidden, E("Only owners can modify owner roles")), await server.ClientFor(admin).SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{owner.Id}", new { role = "member" }));
        Assert.Equal((HttpStatusCode.Forbidden, E("Only owners can modify owner roles")), await server.ClientFor(admin).SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{admin.Id}", new { role = "owner" }));
        Assert.Equal([(owner.Id, OrgRole.Owner), (admin.Id, OrgRole.Admin)], (await server.MembersAsync(org)).Select(m => (m.UserId, m.Role)).OrderBy(m => m.Role));

        // With a second owner the first may step down, and org.owner_id moves to the remaining owner.
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), await asOwner.SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{admin.Id}", new { role = "owner" }));
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), await asOwner.SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/members/{owner.Id}"));
        await using var db = server.NewDbContext();
        Assert.Equal(admin.Id, (await db.Orgs.SingleAsync(o => o.Id == org.Id)).OwnerId);
        Assert.Equal([(admin.Id, OrgRole.Owner)], (await server.MembersAsync(org)).Select(m => (m.UserId, m.Role)));
        Assert.Equal((HttpStatusCode.NotFound, E("Organization not found")), await asOwner.SendAsync(HttpMethod.Get, $"/api/orgs/{org.Id}"));
    }

    [Fact]
    public async Task Two_owners_demoting_each_other_at_once_leave_one_owner()
    {
        var a = await server.CreateUserAsync();
        var b = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(a, (b, OrgRole.Owner));
        var results = await Task.WhenAll(
            server.ClientFor(a).SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{b.Id}", new { role = "member" }),
            server.ClientFor(b).SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{a.Id}", new { role = "member" }));
        Assert.Single(results, r => r.Item1 == HttpStatusCode.OK);
        Assert.Single(await server.MembersAsync(org), m => m.Role == OrgRole.Owner);
    }

    [Fact]
    public async Task Members_leave_add_and_role_rules()
    {
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var newcomer = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner, (admin, OrgRole.Admin), (member, OrgRole.Member));
        var asAdmin = server.ClientFor(admin);

        // [our choice] Every address gets the same answer: an address without an account is invited by e-mail.
        Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), await asAdmin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = "ghost@example.com", role = "member" }));
        await using (var db = server.NewDbContext())
            Assert.True(await db.OrgInvites.AnyAsync(i => i.OrgId == org.Id && i.Email == "ghost@example.com" && i.AcceptedAt == null));
        Assert.Equal((HttpStatusCode.Conflict, E("User is already a member")), await asAdmin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = member.Email, role = "member" }));
        Assert.Equal((HttpStatusCode.Forbidden, E("Only owners can modify owner roles")), await asAdmin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = newcomer.Email, role = "owner" }));
        Assert.Equal((HttpStatusCode.BadRequest, E("Role must be one of owner, admin, member")), await asAdmin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = newcomer.Email, role = "boss" }));
        // An existing user added directly is pending, not a member, until they accept.
        Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), await asAdmin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/members", new { email = newcomer.Email, role = "member" }));
        Assert.Equal([(newcomer.Id, "member")], await server.PendingAsync(org));
        Assert.Equal((HttpStatusCode.NotFound, E("Member not found")), await asAdmin.SendAsync(HttpMethod.Patch, $"/api/orgs/{org.Id}/members/{newcomer.Id}", new { role = "admin" }));
        Assert.Equal((HttpStatusCode.Forbidden, E("Insufficient permissions")), await server.ClientFor(member).SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/members/{admin.Id}"));

        // A member leaves by removing themself; their pending invitations go with them.
        await using (var db = server.NewDbContext())
        {
            db.OrgInvites.Add(new OrgInvite { Id = Guid.NewGuid().ToString(), OrgId = org.Id, Email = member.Email, Token = Guid.NewGuid().ToString(), InvitedBy = owner.Id, ExpiresAt = DateTime.UtcNow.AddDays(1), CreatedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), await server.ClientFor(member).SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/members/{member.Id}"));
        await using (var db = server.NewDbContext())
            Assert.False(await db.OrgInvites.AnyAsync(i => i.OrgId == org.Id && i.Email == member.Email));
        Assert.DoesNotContain(await server.MembersAsync(org), m => m.UserId == member.Id);
    }
}
