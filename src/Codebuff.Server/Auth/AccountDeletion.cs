using Codebuff.Server.AgentRuns;
using Codebuff.Server.Orgs;

namespace Codebuff.Server.Auth;

/// <summary>
/// Deleting an account (the Account tab and <c>admin delete-user</c>). [our choice] The seed's foreign keys would
/// cascade a deleted <c>"user"</c> row into the credit grants, message, agent_run and owned orgs (and block on publisher),
/// so the row stays as a tombstone instead: every session and key ends at once, personal data goes (e-mail, name,
/// handle, image, password, OAuth accounts, stored provider keys, stored trace content, pending invitations to the
/// address), and billing facts and org usage history stay, tied to a user that names no one. Refused, with what to do
/// first, while the user is an org's only owner or owns a publisher.
/// </summary>
public static class AccountDeletion
{
    /// <summary>The e-mail a deleted user keeps: the column is NOT NULL UNIQUE, and .invalid can never receive mail.</summary>
    public static string TombstoneEmail(string userId) => $"deleted-{userId}@deleted.invalid";

    /// <summary>Deletes the account in one transaction; null when done, otherwise why not (409, nothing changed).</summary>
    public static async Task<Refusal?> DeleteAsync(AppDbContext db, string userId, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // Holding the user row and the rows of its orgs: a membership change or a new publisher racing with the checks
        // below waits, and a second deletion of the same user finds the tombstone.
        var email = await db.Database.SqlQuery<string>($"""SELECT email AS "Value" FROM "user" WHERE id = {userId} FOR UPDATE""").FirstOrDefaultAsync(ct);
        if (email is null || email == TombstoneEmail(userId)) return new(404, "No such account");
        await db.Database.ExecuteSqlAsync($"""
            SELECT 1 FROM org WHERE id IN (SELECT org_id FROM org_member WHERE user_id = {userId}) OR owner_id = {userId}
            ORDER BY id FOR NO KEY UPDATE
            """, ct);

        var owned = OrgAccess.OwnedBy(db, userId);
        var soleOwned = await db.Orgs
            .Where(o => owned.Contains(o.Id) || o.OwnerId == userId)
            .Where(o => !db.OrgMembers.Any(m => m.OrgId == o.Id && m.UserId != userId && m.Role == OrgRole.Owner))
            .OrderBy(o => o.Slug).Select(o => o.Slug).ToListAsync(ct);
        if (soleOwned.Count > 0)
            return new(409, $"You are the only owner of {Names("organization", soleOwned)}: make another member an owner, or delete the organization, first (/orgs/{soleOwned[0]}/settings).");
        var publishers = await db.Publishers.Where(p => p.UserId == userId).OrderBy(p => p.Id).Select(p => p.Id).ToListAsync(ct);
        if (publishers.Count > 0)
            return new(409, $"You own {Names("publisher", publishers)}: its published agents stay in the store and must stay attributed, so ask the site's operator to move it to an organization or remove it first.");

        // Orgs this user co-owns: org.owner_id passes to the longest-standing other owner (as when an owner leaves).
        await db.Database.ExecuteSqlAsync($"""
            UPDATE org SET owner_id = (SELECT m.user_id FROM org_member m WHERE m.org_id = org.id AND m.role = 'owner' AND m.user_id <> {userId}
                                       ORDER BY m.joined_at, m.user_id LIMIT 1), updated_at = now()
            WHERE owner_id = {userId}
            """, ct);
        await db.OrgMembers.Where(m => m.UserId == userId).ExecuteDeleteAsync(ct);
        await db.Database.ExecuteSqlAsync($"DELETE FROM service.org_member_pending WHERE user_id = {userId}", ct);
        await db.OrgInvites.Where(i => i.Email == email && i.AcceptedAt == null).ExecuteDeleteAsync(ct);

        var fingerprints = db.Sessions.Where(s => s.UserId == userId && s.FingerprintId != null).Select(s => s.FingerprintId);
        await db.Fingerprints.Where(f => fingerprints.Contains(f.Id)).ExecuteUpdateAsync(s => s.SetProperty(f => f.SigHash, (string?)null), ct);
        await db.Sessions.Where(s => s.UserId == userId).ExecuteDeleteAsync(ct);
        await db.Accounts.Where(a => a.UserId == userId).ExecuteDeleteAsync(ct);
        await db.EncryptedApiKeys.Where(k => k.UserId == userId).ExecuteDeleteAsync(ct);
        await db.VerificationTokens.Where(v => v.Identifier == email).ExecuteDeleteAsync(ct);
        await TraceContent.ForgetUserAsync(db, userId, ct);

        // The tombstone: banned and without credentials, so nothing can sign in as it; the Stripe customer id stays
        // with the billing facts it explains, auto top-up stops.
        await db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s
            .SetProperty(u => u.Email, TombstoneEmail(userId))
            .SetProperty(u => u.Name, (string?)null)
            .SetProperty(u => u.Handle, (string?)null)
            .SetProperty(u => u.Image, (string?)null)
            .SetProperty(u => u.Password, (string?)null)
            .SetProperty(u => u.EmailVerified, (DateTime?)null)
            .SetProperty(u => u.DiscordId, (string?)null)
            .SetProperty(u => u.AutoTopupEnabled, false)
            .SetProperty(u => u.Banned, true), ct);
        await tx.CommitAsync(ct);
        return null;
    }

    static string Names(string kind, List<string> ids) =>
        ids.Count == 1 ? $"the {kind} '{ids[0]}'" : $"the {kind}s {string.Join(", ", ids.Select(i => $"'{i}'"))}";
}
