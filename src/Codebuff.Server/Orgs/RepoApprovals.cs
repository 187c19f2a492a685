using static Codebuff.Server.Orgs.OrgAccess;

namespace Codebuff.Server.Orgs;

/// <summary>
/// Approving, pausing and removing an org's repositories (api.md §5.5, §7.9), for /api/orgs/{orgId}/repos and the
/// repositories page. Managers only; every write re-checks the role in its own statement.
/// </summary>
public static class RepoApprovals
{
    /// <summary>Adds the repository in its normal form (<see cref="RepoUrls"/>); the name defaults to the URL's.</summary>
    public static async Task<(OrgRepo? Repo, Refusal? Refusal)> AddAsync(OrgCaller caller, string? url, string? name, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (Check(caller.Membership, OrgRole.Admin) is { } denied) return (null, denied);
        switch (RepoUrls.TryParse(url, out var repo))
        {
            case RepoUrls.Problem.InvalidUrl: return (null, new(400, "Invalid URL format"));
            case RepoUrls.Problem.HostNotAllowed: return (null, new(400, "Repository domain not allowed"));
        }
        var row = new OrgRepo
        {
            Id = Guid.NewGuid().ToString(), OrgId = caller.OrgId, RepoUrl = repo!.Url, RepoName = name?.Trim() is { Length: > 0 } given ? given : repo.Name,
            RepoOwner = repo.Owner, ApprovedBy = caller.User.Id, ApprovedAt = clock.GetUtcNow().UtcDateTime, IsActive = true,
        };
        // The seed's (org_id, repo_url) index is not unique; the org's row lock makes check-then-insert safe.
        await using var tx = await OrgLock.BeginAsync(db, caller.OrgId, ct);
        if (await db.OrgRepos.AnyAsync(r => r.OrgId == caller.OrgId && r.RepoUrl == row.RepoUrl, ct))
            return (null, new(409, "Repository already added to organization"));
        db.OrgRepos.Add(row);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return (row, null);
    }

    public static async Task<Refusal?> SetActiveAsync(OrgCaller caller, string repoId, bool active, AppDbContext db, CancellationToken ct)
    {
        if (Check(caller.Membership, OrgRole.Admin) is { } denied) return denied;
        var admin = AdministeredBy(db, caller.User.Id);
        var changed = await db.OrgRepos.Where(r => r.Id == repoId && r.OrgId == caller.OrgId && admin.Contains(r.OrgId))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.IsActive, active), ct);
        return changed == 1 ? null : new(404, "Repository not found");
    }

    public static async Task<Refusal?> RemoveAsync(OrgCaller caller, string repoId, AppDbContext db, CancellationToken ct)
    {
        if (Check(caller.Membership, OrgRole.Admin) is { } denied) return denied;
        var admin = AdministeredBy(db, caller.User.Id);
        var deleted = await db.OrgRepos.Where(r => r.Id == repoId && r.OrgId == caller.OrgId && admin.Contains(r.OrgId)).ExecuteDeleteAsync(ct);
        return deleted == 1 ? null : new(404, "Repository not found");
    }
}
