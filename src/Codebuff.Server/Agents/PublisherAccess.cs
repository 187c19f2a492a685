namespace Codebuff.Server.Agents;

/// <summary>Who may act for a publisher: its owning user, or an owner/admin of its owning org.</summary>
public static class PublisherAccess
{
    public static bool IsOrgAdmin(OrgRole role) => role is OrgRole.Owner or OrgRole.Admin;

    public static async Task<bool> CanPublishAsync(AppDbContext db, string publisherId, string userId, CancellationToken ct) =>
        await db.Publishers.AnyAsync(p => p.Id == publisherId && (p.UserId == userId
            || db.OrgMembers.Any(m => m.OrgId == p.OrgId && m.UserId == userId && (m.Role == OrgRole.Owner || m.Role == OrgRole.Admin))), ct);

    /// <summary>The caller's org role, or null when not a member.</summary>
    public static Task<OrgRole?> OrgRoleAsync(AppDbContext db, string orgId, string userId, CancellationToken ct) =>
        db.OrgMembers.Where(m => m.OrgId == orgId && m.UserId == userId).Select(m => (OrgRole?)m.Role).FirstOrDefaultAsync(ct);
}
