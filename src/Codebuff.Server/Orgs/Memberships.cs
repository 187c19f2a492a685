namespace Codebuff.Server.Orgs;

/// <summary>
/// Adding, re-roling and removing members (api.md §5.5). Owners outrank admins outrank members; only owners touch
/// owners; and [our choice, upstream allows it] the last owner can neither leave, be removed nor be demoted, so no org
/// is ever left without someone who can manage or delete it. Changes that can affect the set of owners run in a
/// transaction holding the org row (FOR NO KEY UPDATE), so two owners demoting each other at once cannot both win.
/// </summary>
public sealed class Memberships(AppDbContext db, TimeProvider clock)
{
    public const string LastOwner = "An organization must keep at least one owner: make another member an owner first";

    /// <summary>
    /// Inserts a membership; false when the user already is a member (the primary key decides, race-free). Only for a
    /// user who chose to join (an accepted invitation or membership request, <see cref="PendingMembers"/>), or an org's creator.
    /// </summary>
    public async Task<bool> TryAddAsync(string orgId, string userId, OrgRole role, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var rows = await db.Database.ExecuteSqlAsync(
            $"INSERT INTO org_member (org_id, user_id, role, joined_at) VALUES ({orgId}, {userId}, {role}, {now}) ON CONFLICT DO NOTHING", ct);
        return rows == 1;
    }

    public async Task<Refusal?> ChangeRoleAsync(OrgCaller caller, string userId, OrgRole role, CancellationToken ct)
    {
        if (OrgAccess.Check(caller.Membership, OrgRole.Admin) is { } denied) return denied;
        await using var tx = await OrgLock.BeginAsync(db, caller.OrgId, ct);
        var target = await db.OrgMembers.FirstOrDefaultAsync(m => m.OrgId == caller.OrgId && m.UserId == userId, ct);
        if (target is null) return new(404, "Member not found");
        if ((target.Role == OrgRole.Owner || role == OrgRole.Owner) && !await IsOwnerAsync(caller, ct)) return new(403, "Only owners can modify owner roles");
        if (target.Role == OrgRole.Owner && role != OrgRole.Owner && await OtherOwnerAsync(caller.OrgId, userId, ct) is null) return new(400, LastOwner);
        target.Role = role;
        await db.SaveChangesAsync(ct);
        if (role != OrgRole.Owner) await HandOverOwnershipAsync(caller.OrgId, userId, ct);
        await tx.CommitAsync(ct);
        return null;
    }

    /// <summary>Removes a member (or the caller leaving) and the pending invitations to their address.</summary>
    public async Task<Refusal?> RemoveAsync(OrgCaller caller, string userId, CancellationToken ct)
    {
        var self = userId == caller.User.Id;
        if (!self && !caller.IsAdmin) return new(403, "Insufficient permissions");
        await using var tx = await OrgLock.BeginAsync(db, caller.OrgId, ct);
        var target = await db.OrgMembers.FirstOrDefaultAsync(m => m.OrgId == caller.OrgId && m.UserId == userId, ct);
        if (target is null) return new(404, "Member not found");
        if (!self && target.Role == OrgRole.Owner && !await IsOwnerAsync(caller, ct)) return new(403, "Only owners can remove other owners");
        if (target.Role == OrgRole.Owner && await OtherOwnerAsync(caller.OrgId, userId, ct) is null) return new(400, LastOwner);
        db.OrgMembers.Remove(target);
        await db.SaveChangesAsync(ct);
        var email = await db.Users.Where(u => u.Id == userId).Select(u => u.Email).FirstAsync(ct);
        await db.OrgInvites.Where(i => i.OrgId == caller.OrgId && i.Email == email && i.AcceptedAt == null).ExecuteDeleteAsync(ct);
        await HandOverOwnershipAsync(caller.OrgId, userId, ct);
        await tx.CommitAsync(ct);
        return null;
    }

    /// <summary>The caller's role read again under the org lock: the one checked by the route filter may have changed.</summary>
    Task<bool> IsOwnerAsync(OrgCaller caller, CancellationToken ct) =>
        OrgAccess.OwnedBy(db, caller.User.Id).AnyAsync(orgId => orgId == caller.OrgId, ct);

    Task<string?> OtherOwnerAsync(string orgId, string userId, CancellationToken ct) =>
        db.OrgMembers.Where(m => m.OrgId == orgId && m.Role == OrgRole.Owner && m.UserId != userId)
            .OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId).Select(m => m.UserId).FirstOrDefaultAsync(ct);

    /// <summary>org.owner_id names an owner: when that user stops being one, the longest-standing other owner takes it.</summary>
    async Task HandOverOwnershipAsync(string orgId, string formerOwnerId, CancellationToken ct)
    {
        if (!await db.Orgs.AnyAsync(o => o.Id == orgId && o.OwnerId == formerOwnerId, ct)) return;
        var next = await OtherOwnerAsync(orgId, formerOwnerId, ct);
        if (next is not null)
            await db.Orgs.Where(o => o.Id == orgId).ExecuteUpdateAsync(s => s.SetProperty(o => o.OwnerId, next).SetProperty(o => o.UpdatedAt, clock.GetUtcNow().UtcDateTime), ct);
    }
}
