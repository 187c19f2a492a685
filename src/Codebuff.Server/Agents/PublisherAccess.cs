using Codebuff.Server.Orgs;

namespace Codebuff.Server.Agents;

/// <summary>Who may act for a publisher: its owning user, or an owner/admin of its owning org.</summary>
public static class PublisherAccess
{
    public static async Task<bool> CanPublishAsync(AppDbContext db, string publisherId, string userId, CancellationToken ct)
    {
        var administered = OrgAccess.AdministeredBy(db, userId);
        return await db.Publishers.AnyAsync(p => p.Id == publisherId && (p.UserId == userId || administered.Contains(p.OrgId!)), ct);
    }
}
