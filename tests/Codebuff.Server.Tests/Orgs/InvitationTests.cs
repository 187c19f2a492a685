using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

using static Codebuff.Server.Tests.Orgs.OrgHttp;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>Invitations from creation to acceptance, with expiry driven by the server's injected clock.</summary>
public sealed class InvitationTests(OrgFixture server) : IClassFixture<OrgFixture>
{

    async Task<OrgInvite> InviteAsync(TestOrg org, string email)
    {
        await using var db = server.NewDbContext();
        return await db.OrgInvites.AsNoTracking().SingleAsync(i => i.OrgId == org.Id && i.Email == email);
    }

    [Fact]
    public async Task Lifecycle_invite_show_expire_resend_accept_and_refusals_that_change_nothing()
    {
        var owner = await server.CreateUserAsync();
        var invitee = await server.CreateUserAsync();
        var stranger = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        var admin = server.ClientFor(owner);
        var anonymous = server.Client;

        Assert.Equal((HttpStatusCode.Created, """{"success":true}"""), await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = invitee.Email, role = "admin" }));
        var first = await InviteAsync(org, invitee.Email);
        Assert.True(Guid.TryParse(first.Token, out _));
        Assert.Equal(server.Clock.GetUtcNow().UtcDateTime.AddDays(7), first.ExpiresAt, TimeSpan.FromMilliseconds(1));
        var mail = server.Emails.Single(m => m.To == invitee.Email);
        Assert.Contains($"http://localhost:5000/invites/{first.Token}", mail.Text);
        Assert.Contains(org.Name, mail.Subject);

        // One pending invitation per address.
        Assert.Equal((HttpStatusCode.Conflict, E("Invitation already exists for this email")),
            await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = invitee.Email, role = "member" }));

        var shown = await anonymous.SendAsync(HttpMethod.Get, $"/api/invites/{first.Token}");
        Assert.Equal(HttpStatusCode.OK, shown.Item1);
        Assert.Equal((org.Name, org.Slug, invitee.Email, "admin"), ((string?)JsonNode.Parse(shown.Item2)!["invitation"]!["organization_name"],
            (string?)JsonNode.Parse(shown.Item2)!["invitation"]!["organization_slug"], (string?)JsonNode.Parse(shown.Item2)!["invitation"]!["email"], (string?)JsonNode.Parse(shown.Item2)!["invitation"]!["role"]));
        Assert.Equal((HttpStatusCode.NotFound, E("Invalid invitation token")), await anonymous.SendAsync(HttpMethod.Get, $"/api/invites/{Guid.NewGuid()}"));

        // The wrong account cannot accept, and its refusal changes nothing.
        Assert.Equal((HttpStatusCode.Forbidden, E("Invitation email does not match your account")),
            await server.ClientFor(stranger).SendAsync(HttpMethod.Post, $"/api/invites/{first.Token}"));
        Assert.Null((await InviteAsync(org, invitee.Email)).AcceptedAt);

        // Eight days later the invitation has expired: shown and accepted alike answer 410, and nothing changes.
        server.Clock.Advance(TimeSpan.FromDays(8));
        Assert.Equal((HttpStatusCode.Gone, E("Invitation has expired")), await anonymous.SendAsync(HttpMethod.Get, $"/api/invites/{first.Token}"));
        Assert.Equal((HttpStatusCode.Gone, E("Invitation has expired")), await server.ClientFor(invitee).SendAsync(HttpMethod.Post, $"/api/invites/{first.Token}"));
        Assert.DoesNotContain(await server.MembersAsync(org), m => m.UserId == invitee.Id);
        // Expired invitations are still listed (so they can be resent).
        var listed = JsonNode.Parse((await admin.SendAsync(HttpMethod.Get, $"/api/orgs/{org.Id}/invitations")).Item2)!["invitations"]!.AsArray();
        Assert.Equal(invitee.Email, (string?)Assert.Single(listed)!["email"]);

        // Resending renews token and expiry from now; the old link is dead.
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations/{Uri.EscapeDataString(invitee.Email)}/resend"));
        var renewed = await InviteAsync(org, invitee.Email);
        Assert.NotEqual(first.Token, renewed.Token);
        Assert.Equal(server.Clock.GetUtcNow().UtcDateTime.AddDays(7), renewed.ExpiresAt, TimeSpan.FromMilliseconds(1));
        Assert.Contains(server.Emails, m => m.Text.Contains(renewed.Token));
        Assert.Equal((HttpStatusCode.NotFound, E("Invalid invitation token")), await server.ClientFor(invitee).SendAsync(HttpMethod.Post, $"/api/invites/{first.Token}"));

        // The invitee accepts (through the dashboard's cookie) and joins with the invited role.
        var (status, text) = await (await server.CookieClientAsync(invitee)).SendAsync(HttpMethod.Post, $"/api/invites/{renewed.Token}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($$$"""{"success":true,"organization":{"id":"{{{org.Id}}}","name":"{{{org.Name}}}","slug":"{{{org.Slug}}}","role":"admin"}}""", text);
        Assert.Contains(await server.MembersAsync(org), m => m.UserId == invitee.Id && m.Role == OrgRole.Admin);
        var accepted = await InviteAsync(org, invitee.Email);
        Assert.Equal(invitee.Id, accepted.AcceptedBy);
        Assert.Equal(server.Clock.GetUtcNow().UtcDateTime, accepted.AcceptedAt!.Value, TimeSpan.FromMilliseconds(1));

        // Accepted: 410 on both routes, and it leaves the pending list.
        Assert.Equal((HttpStatusCode.Gone, E("Invitation has already been accepted")), await anonymous.SendAsync(HttpMethod.Get, $"/api/invites/{renewed.Token}"));
        Assert.Equal((HttpStatusCode.Gone, E("Invitation has already been accepted")), await server.ClientFor(invitee).SendAsync(HttpMethod.Post, $"/api/invites/{renewed.Token}"));
        Assert.Equal("""{"invitations":[]}""", (await admin.SendAsync(HttpMethod.Get, $"/api/orgs/{org.Id}/invitations")).Item2);
        Assert.Equal((HttpStatusCode.NotFound, E("Invitation not found")), await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations/{Uri.EscapeDataString(invitee.Email)}/resend"));
    }

    [Fact]
    public async Task Accepting_while_already_a_member_is_409_and_leaves_the_invitation_open()
    {
        var owner = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        Assert.Equal(HttpStatusCode.Created, (await server.ClientFor(owner).SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = member.Email, role = "member" })).Item1);
        var invite = await InviteAsync(org, member.Email);
        await using (var db = server.NewDbContext())
        {
            db.OrgMembers.Add(new OrgMember { OrgId = org.Id, UserId = member.Id, Role = OrgRole.Admin, JoinedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }

        Assert.Equal((HttpStatusCode.Conflict, E("You are already a member of this organization")),
            await server.ClientFor(member).SendAsync(HttpMethod.Post, $"/api/invites/{invite.Token}"));
        Assert.Null((await InviteAsync(org, member.Email)).AcceptedAt);
        Assert.Contains(await server.MembersAsync(org), m => m.UserId == member.Id && m.Role == OrgRole.Admin);
        // Inviting an existing member is refused up front.
        Assert.Equal((HttpStatusCode.Conflict, E("User is already a member")),
            await server.ClientFor(owner).SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = member.Email, role = "member" }));
    }

    [Fact]
    public async Task Bad_invitations_are_400_revoke_removes_and_bulk_asks_every_address()
    {
        var owner = await server.CreateUserAsync();
        var existing = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        var admin = server.ClientFor(owner);
        Assert.Equal((HttpStatusCode.BadRequest, E("A valid email is required")), await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = "nobody", role = "member" }));
        Assert.Equal((HttpStatusCode.BadRequest, E("Role must be admin or member")), await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = "a@b.c", role = "owner" }));
        Assert.Equal((HttpStatusCode.BadRequest, E("Invalid invitations array")), await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations/bulk", new { invitations = Array.Empty<object>() }));

        Assert.Equal(HttpStatusCode.Created, (await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations", new { email = "later@example.com", role = "member" })).Item1);
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), await admin.SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/invitations/later%40example.com"));
        Assert.Equal((HttpStatusCode.NotFound, E("Invitation not found")), await admin.SendAsync(HttpMethod.Delete, $"/api/orgs/{org.Id}/invitations/later%40example.com"));

        var bulk = await admin.SendAsync(HttpMethod.Post, $"/api/orgs/{org.Id}/invitations/bulk", new
        {
            invitations = new[] { new { email = existing.Email, role = "admin" }, new { email = "ghost@example.com", role = "member" }, new { email = owner.Email, role = "member" } },
        });
        // [our choice] skipped names only members: an address without an account is invited, an existing user is pending.
        Assert.Equal((HttpStatusCode.Created, $$$"""{"success":true,"added":2,"skipped":[{"email":"{{{owner.Email}}}","reason":"Already a member"}]}"""), bulk);
        Assert.DoesNotContain(await server.MembersAsync(org), m => m.UserId == existing.Id);
        Assert.Equal([(existing.Id, "admin")], await server.PendingAsync(org));
        await using var db = server.NewDbContext();
        Assert.True(await db.OrgInvites.AnyAsync(i => i.OrgId == org.Id && i.Email == "ghost@example.com" && i.AcceptedAt == null));
    }

    [Fact]
    public async Task Without_smtp_the_accept_link_goes_to_the_log()
    {
        var logs = new ListLogger();
        var sender = new LogEmailSender(logs);
        await sender.SendAsync(new EmailMessage("x@example.com", "Join", "Accept: http://localhost:5000/invites/abc"), CancellationToken.None);
        var line = Assert.Single(logs.Lines);
        Assert.Contains("x@example.com", line);
        Assert.Contains("http://localhost:5000/invites/abc", line);
        Assert.Contains("Codebuff:Smtp:Host", line);
        // And the server picks that sender when no SMTP host is configured.
        await using var plain = await ServerFixture.StartServerAsync(server.ConnectionString, new() { ["Codebuff:AuthSecret"] = "test-auth-secret", ["Logging:LogLevel:Default"] = "Warning" });
        Assert.IsType<LogEmailSender>(plain.Services.GetRequiredService<IEmailSender>());
        await using var smtp = await ServerFixture.StartServerAsync(server.ConnectionString, new() { ["Codebuff:AuthSecret"] = "test-auth-secret", ["Logging:LogLevel:Default"] = "Warning", ["Codebuff:Smtp:Host"] = "127.0.0.1" });
        Assert.IsType<SmtpEmailSender>(smtp.Services.GetRequiredService<IEmailSender>());
    }

    sealed class ListLogger : ILogger<LogEmailSender>
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => Lines.Add(formatter(state, exception));
    }
}
