namespace Codebuff.Server.Orgs;

/// <summary>
/// Invitations by e-mail (api.md §5.5): a UUID token valid for 7 days, at most one pending invitation per address and
/// org, accepted only by the account with exactly that address. Creation and acceptance run under the org's row
/// lock / the invitation's row lock, so concurrent requests cannot create two pending invitations or accept one twice,
/// and a refused acceptance changes nothing.
/// </summary>
public sealed class Invitations(AppDbContext db, TimeProvider clock, IEmailSender email, IOptions<CodebuffOptions> options, ILogger<Invitations> log)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(7);

    DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<Refusal?> CreateAsync(OrgCaller caller, string address, OrgRole role, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Admin) is { } denied) return denied;
        if (await db.OrgMembers.AnyAsync(m => m.OrgId == caller.OrgId && db.Users.Any(u => u.Id == m.UserId && u.Email == address), ct))
            return new(409, "User is already a member");
        var now = Now;
        OrgInvite invite;
        await using (var tx = await OrgLock.BeginAsync(db, caller.OrgId, ct))
        {
            var open = db.OrgInvites.Where(i => i.OrgId == caller.OrgId && i.Email == address && i.AcceptedAt == null);
            if (await open.AnyAsync(i => i.ExpiresAt > now, ct)) return new(409, "Invitation already exists for this email");
            await open.ExecuteDeleteAsync(ct); // expired ones: the new invitation replaces them
            invite = new OrgInvite
            {
                Id = Guid.NewGuid().ToString(), OrgId = caller.OrgId, Email = address, Role = role, Token = Guid.NewGuid().ToString(),
                InvitedBy = caller.User.Id, ExpiresAt = now + Lifetime, CreatedAt = now,
            };
            db.OrgInvites.Add(invite);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        await SendAsync(invite, caller.User, ct);
        return null;
    }

    /// <summary>A fresh token and expiry for the address's open invitation, sent again, now from the caller.</summary>
    public async Task<Refusal?> ResendAsync(OrgCaller caller, string address, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Admin) is { } denied) return denied;
        var now = Now;
        var invite = await db.OrgInvites.Where(i => i.OrgId == caller.OrgId && i.Email == address && i.AcceptedAt == null)
            .OrderByDescending(i => i.CreatedAt).FirstOrDefaultAsync(ct);
        if (invite is null) return new(404, "Invitation not found");
        var token = Guid.NewGuid().ToString();
        var changed = await db.OrgInvites.Where(i => i.Id == invite.Id && i.AcceptedAt == null).ExecuteUpdateAsync(s => s
            .SetProperty(i => i.Token, token).SetProperty(i => i.ExpiresAt, now + Lifetime).SetProperty(i => i.InvitedBy, caller.User.Id), ct);
        if (changed == 0) return new(404, "Invitation not found"); // accepted in between
        invite.Token = token;
        await SendAsync(invite, caller.User, ct);
        return null;
    }

    public async Task<Refusal?> RevokeAsync(OrgCaller caller, string address, CancellationToken ct) =>
        OrgAccess.Check(caller.Membership, OrgRole.Admin) ?? (await db.OrgInvites.Where(i => i.OrgId == caller.OrgId && i.Email == address && i.AcceptedAt == null).ExecuteDeleteAsync(ct) > 0
            ? null : new(404, "Invitation not found"));

    /// <summary>What GET /api/invites/{token} shows before signing in: the org and who invited whom.</summary>
    public async Task<(OrgWire.InvitationInfo? Invitation, Refusal? Refusal)> ShowAsync(string token, CancellationToken ct)
    {
        var row = await (
            from i in db.OrgInvites.AsNoTracking()
            join o in db.Orgs on i.OrgId equals o.Id
            where i.Token == token
            select new { i.Email, i.Role, i.ExpiresAt, i.AcceptedAt, o.Name, o.Slug, Inviter = db.Users.Where(u => u.Id == i.InvitedBy).Select(u => u.Name).FirstOrDefault() })
            .FirstOrDefaultAsync(ct);
        if (row is null) return (null, new(404, "Invalid invitation token"));
        if (row.AcceptedAt is not null) return (null, new(410, "Invitation has already been accepted"));
        if (row.ExpiresAt <= Now) return (null, new(410, "Invitation has expired"));
        return (new OrgWire.InvitationInfo(row.Name, row.Slug, row.Email, OrgJson.Role(row.Role), row.Inviter, row.ExpiresAt), null);
    }

    public sealed record Accepted(string Id, string Name, string Slug, string Role);

    /// <summary>Joins the signed-in user to the org. Every refusal leaves the invitation and the membership table untouched.</summary>
    public async Task<(Accepted? Accepted, Refusal? Refusal)> AcceptAsync(string token, Data.User user, CancellationToken ct)
    {
        var now = Now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var invite = await db.OrgInvites.FromSql($"SELECT * FROM org_invite WHERE token = {token} FOR UPDATE").FirstOrDefaultAsync(ct);
        if (invite is null) return (null, new(404, "Invalid invitation token"));
        if (invite.AcceptedAt is not null) return (null, new(410, "Invitation has already been accepted"));
        if (invite.ExpiresAt <= now) return (null, new(410, "Invitation has expired"));
        if (!string.Equals(invite.Email, user.Email, StringComparison.Ordinal)) return (null, new(403, "Invitation email does not match your account"));
        var memberships = new Memberships(db, clock);
        if (!await memberships.TryAddAsync(invite.OrgId, user.Id, invite.Role, ct)) return (null, new(409, "You are already a member of this organization"));
        invite.AcceptedAt = now;
        invite.AcceptedBy = user.Id;
        await db.SaveChangesAsync(ct);
        var org = await db.Orgs.AsNoTracking().Where(o => o.Id == invite.OrgId).Select(o => new { o.Id, o.Name, o.Slug }).FirstAsync(ct);
        await tx.CommitAsync(ct);
        return (new Accepted(org.Id, org.Name, org.Slug, OrgJson.Role(invite.Role)), null);
    }

    public string AcceptLink(string token) => $"{options.Value.AppUrl.TrimEnd('/')}/invites/{Uri.EscapeDataString(token)}";

    /// <summary>
    /// Delivery is best effort: the invitation exists either way and "resend" retries it, so a mail server that is
    /// down is logged, not turned into a failed request.
    /// </summary>
    async Task SendAsync(OrgInvite invite, Data.User inviter, CancellationToken ct)
    {
        var orgName = await db.Orgs.Where(o => o.Id == invite.OrgId).Select(o => o.Name).FirstAsync(ct);
        var from = inviter.Name ?? inviter.Email;
        var message = new EmailMessage(invite.Email, $"{from} invited you to {orgName} on Codebuff", $"""
            {from} invited you to join the organization "{orgName}" on Codebuff as {OrgJson.Role(invite.Role)}.

            Accept the invitation (sign in with the account for {invite.Email}):
            {AcceptLink(invite.Token)}

            The invitation expires on {invite.ExpiresAt:yyyy-MM-dd HH:mm} UTC.
            """);
        try
        {
            await email.SendAsync(message, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "invitation e-mail for org {OrgId} could not be sent", invite.OrgId);
        }
    }
}
