namespace Codebuff.Server.Orgs;

/// <summary>
/// Adding a member by e-mail (api.md §5.5: POST /api/orgs/{orgId}/members and the bulk route) without forcing anyone
/// in. [our choice, upstream inserts the membership at once] An existing user becomes a <em>pending</em> member
/// (<c>service.org_member_pending</c>, told by e-mail) and joins only by accepting on their dashboard (/orgs);
/// another address gets the ordinary invitation e-mail. Until a pending member accepts, the org neither pays for nor
/// refuses their calls: an admin could otherwise approve a victim's public repository and have an empty org refuse
/// their work. And the adder learns nothing about who has an account: every address gets the same answer.
/// </summary>
public sealed class PendingMembers(AppDbContext db, Invitations invitations, IEmailSender email, IOptions<CodebuffOptions> options,
    TimeProvider clock, ILogger<PendingMembers> log)
{
    public enum Added { Asked, AlreadyMember }

    /// <summary>Asks the owner of the address to join (pending membership or invitation); answers the same for both.</summary>
    public async Task<(Added Added, Refusal? Refusal)> AddAsync(OrgCaller caller, string address, OrgRole role, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Admin) is { } denied) return (default, denied);
        if (role == OrgRole.Owner && !caller.IsOwner) return (default, new(403, "Only owners can modify owner roles"));
        var user = await db.Users.AsNoTracking().Where(u => u.Email == address).Select(u => new { u.Id }).FirstOrDefaultAsync(ct);
        if (user is null)
        {
            // An invitation already open for the address is left as it is (resend renews it).
            if (await invitations.CreateAsync(caller, address, role, ct) is { Status: not 409 } refused) return (default, refused);
            return (Added.Asked, null);
        }
        if (await db.OrgMembers.AnyAsync(m => m.OrgId == caller.OrgId && m.UserId == user.Id, ct)) return (Added.AlreadyMember, null);
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO service.org_member_pending (org_id, user_id, role, added_by, added_at) VALUES ({caller.OrgId}, {user.Id}, {role}, {caller.User.Id}, {now})
            ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role, added_by = excluded.added_by, added_at = excluded.added_at
            """, ct);
        await TellAsync(caller, address, role, ct);
        return (Added.Asked, null);
    }

    public sealed record Pending(string OrgId, string Name, string Slug, OrgRole Role, string? AddedBy, DateTime AddedAt);

    sealed record PendingRow(string OrgId, string Name, string Slug, string Role, string? AddedBy, DateTime AddedAt);

    /// <summary>The orgs waiting for this user's answer, oldest first (the dashboard's notice).</summary>
    public async Task<List<Pending>> ForUserAsync(string userId, CancellationToken ct)
    {
        var rows = await db.Database.SqlQuery<PendingRow>($"""
            SELECT p.org_id AS "OrgId", o.name AS "Name", o.slug AS "Slug", p.role::text AS "Role",
                   coalesce(a.name, a.email) AS "AddedBy", p.added_at AS "AddedAt"
            FROM service.org_member_pending p JOIN org o ON o.id = p.org_id LEFT JOIN "user" a ON a.id = p.added_by
            WHERE p.user_id = {userId}
              AND NOT EXISTS (SELECT 1 FROM org_member m WHERE m.org_id = p.org_id AND m.user_id = p.user_id) -- joined by invitation meanwhile
            ORDER BY p.added_at, p.org_id
            """).ToListAsync(ct);
        return rows.Select(r => new Pending(r.OrgId, r.Name, r.Slug, Enum.Parse<OrgRole>(r.Role, ignoreCase: true), r.AddedBy, r.AddedAt)).ToList();
    }

    public sealed record Asked(string Email, string Role, DateTime AddedAt);

    /// <summary>Who was added to the org and has not answered yet (the team page shows admins).</summary>
    public Task<List<Asked>> ForOrgAsync(string orgId, CancellationToken ct) =>
        db.Database.SqlQuery<Asked>($"""
            SELECT u.email AS "Email", p.role::text AS "Role", p.added_at AS "AddedAt"
            FROM service.org_member_pending p JOIN "user" u ON u.id = p.user_id
            WHERE p.org_id = {orgId} ORDER BY p.added_at, u.email
            """).ToListAsync(ct);

    /// <summary>Joins the org with the role offered; the org's slug, or null when nothing was pending.</summary>
    public async Task<string?> AcceptAsync(string userId, string orgId, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var role = await db.Database.SqlQuery<string>($"""
            DELETE FROM service.org_member_pending WHERE org_id = {orgId} AND user_id = {userId} RETURNING role::text AS "Value"
            """).ToListAsync(ct);
        if (role is not [var offered]) return null;
        await new Memberships(db, clock).TryAddAsync(orgId, userId, Enum.Parse<OrgRole>(offered, ignoreCase: true), ct);
        var slug = await db.Orgs.Where(o => o.Id == orgId).Select(o => o.Slug).FirstAsync(ct);
        await tx.CommitAsync(ct);
        return slug;
    }

    /// <summary>Drops the request; false when nothing was pending.</summary>
    public async Task<bool> DeclineAsync(string userId, string orgId, CancellationToken ct) =>
        await db.Database.ExecuteSqlAsync($"DELETE FROM service.org_member_pending WHERE org_id = {orgId} AND user_id = {userId}", ct) > 0;

    /// <summary>Best effort, as invitations are: the request waits on the dashboard whether or not the mail went out.</summary>
    async Task TellAsync(OrgCaller caller, string address, OrgRole role, CancellationToken ct)
    {
        var orgName = await db.Orgs.Where(o => o.Id == caller.OrgId).Select(o => o.Name).FirstAsync(ct);
        var from = caller.User.Name ?? caller.User.Email;
        var message = new EmailMessage(address, $"{from} asked you to join {orgName} on Codebuff", $"""
            {from} asked you to join the organization "{orgName}" on Codebuff as {OrgJson.Role(role)}.

            Nothing changes until you accept. Accept or decline on your dashboard:
            {options.Value.AppUrl.TrimEnd('/')}/orgs
            """);
        try
        {
            await email.SendAsync(message, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "membership request e-mail for org {OrgId} could not be sent", caller.OrgId);
        }
    }
}
