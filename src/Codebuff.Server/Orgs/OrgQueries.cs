namespace Codebuff.Server.Orgs;

/// <summary>The org reads the JSON routes answer and the dashboard pages render: one query each.</summary>
public static class OrgQueries
{
    public sealed record MyOrg(string Id, string Name, string Slug, OrgRole Role, int MemberCount, int RepositoryCount);

    /// <summary>The orgs the user belongs to, oldest first, with their role and counts (active repositories only).</summary>
    public static async Task<List<MyOrg>> ListForUserAsync(AppDbContext db, string userId, CancellationToken ct) =>
        (await (
            from m in db.OrgMembers.AsNoTracking()
            join o in db.Orgs on m.OrgId equals o.Id
            where m.UserId == userId
            orderby o.CreatedAt, o.Id
            select new
            {
                o.Id, o.Name, o.Slug, m.Role,
                Members = db.OrgMembers.Count(x => x.OrgId == o.Id),
                Repos = db.OrgRepos.Count(r => r.OrgId == o.Id && r.IsActive),
            }).ToListAsync(ct)).Select(r => new MyOrg(r.Id, r.Name, r.Slug, r.Role, r.Members, r.Repos)).ToList();

    /// <summary>The org with this slug and the user's role in it; null when there is none or the user is not a member.</summary>
    public static async Task<(string OrgId, OrgRole Role)?> MembershipBySlugAsync(AppDbContext db, string slug, string userId, CancellationToken ct)
    {
        var member = await (
            from o in db.Orgs
            join m in db.OrgMembers on o.Id equals m.OrgId
            where o.Slug == slug && m.UserId == userId
            select new { o.Id, m.Role }).FirstOrDefaultAsync(ct);
        return member is null ? null : (member.Id, member.Role);
    }

    public sealed record OrgWithCounts(Org Org, int MemberCount, int RepositoryCount);

    public static Task<OrgWithCounts?> WithCountsAsync(AppDbContext db, string orgId, CancellationToken ct) =>
        db.Orgs.AsNoTracking().Where(o => o.Id == orgId).Select(o => new OrgWithCounts(
            o,
            db.OrgMembers.Count(m => m.OrgId == o.Id),
            db.OrgRepos.Count(r => r.OrgId == o.Id && r.IsActive))).FirstOrDefaultAsync(ct);

    public sealed record MemberRow(string UserId, string? Name, string Email, OrgRole Role, DateTime JoinedAt);

    /// <summary>Owners first, then admins, then members; each by joining date.</summary>
    public static Task<List<MemberRow>> MembersAsync(AppDbContext db, string orgId, CancellationToken ct) => (
        from m in db.OrgMembers.AsNoTracking()
        join u in db.Users on m.UserId equals u.Id
        where m.OrgId == orgId
        orderby m.Role, m.JoinedAt, u.Id
        select new MemberRow(u.Id, u.Name, u.Email, m.Role, m.JoinedAt)).ToListAsync(ct);

    public sealed record PendingInvitation(string Id, string Email, OrgRole Role, string? InvitedByName, DateTime CreatedAt, DateTime ExpiresAt);

    /// <summary>Invitations not accepted yet, expired ones included (the dashboard marks them).</summary>
    public static Task<List<PendingInvitation>> PendingInvitationsAsync(AppDbContext db, string orgId, CancellationToken ct) =>
        db.OrgInvites.AsNoTracking().Where(i => i.OrgId == orgId && i.AcceptedAt == null)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id)
            .Select(i => new PendingInvitation(i.Id, i.Email, i.Role, db.Users.Where(u => u.Id == i.InvitedBy).Select(u => u.Name).FirstOrDefault(), i.CreatedAt, i.ExpiresAt))
            .ToListAsync(ct);

    public sealed record RepoRow(OrgRepo Repo, string? ApproverName, string? ApproverEmail);

    public static Task<List<RepoRow>> ReposAsync(AppDbContext db, string orgId, CancellationToken ct) => (
        from r in db.OrgRepos.AsNoTracking()
        join u in db.Users on r.ApprovedBy equals u.Id
        where r.OrgId == orgId
        orderby r.ApprovedAt, r.Id
        select new RepoRow(r, u.Name, u.Email)).ToListAsync(ct);

    /// <summary>The publishers the org owns (its settings page lists them).</summary>
    public static Task<List<Publisher>> PublishersAsync(AppDbContext db, string orgId, CancellationToken ct) =>
        db.Publishers.AsNoTracking().Where(p => p.OrgId == orgId).OrderBy(p => p.CreatedAt).ThenBy(p => p.Id).ToListAsync(ct);
}
