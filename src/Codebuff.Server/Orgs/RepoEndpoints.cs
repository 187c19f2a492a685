using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;
using static Codebuff.Server.Orgs.OrgAccess;
using Codebuff.Server.Hosting;

using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>
/// /api/orgs/{orgId}/repos: the repositories whose work the org pays for (api.md §5.5, §7.9). URLs are stored in the
/// normal form of <see cref="RepoUrls"/>, so every spelling of one repository is one row.
/// </summary>
public static class RepoEndpoints
{
    public static void Map(RouteGroupBuilder org)
    {
        org.MapGet("/repos", List).Answers<RepoList>().Refuses(404);
        org.MapPost("/repos", Add).RequireRole(OrgRole.Admin).Takes<AddRepo>().Answers<OrgWire.Repo>(201).Refuses(400, 403, 404, 409);
        org.MapPatch("/repos/{repoId}", SetActive).RequireRole(OrgRole.Admin).Takes<OrgWire.SetActive>().Answers<Succeeded>().Refuses(400, 403, 404);
        org.MapDelete("/repos/{repoId}", Delete).RequireRole(OrgRole.Admin).Answers<Succeeded>().Refuses(403, 404);
    }

    static async Task<IResult> List(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await (
            from r in db.OrgRepos.AsNoTracking()
            join u in db.Users on r.ApprovedBy equals u.Id
            where r.OrgId == caller.OrgId
            orderby r.ApprovedAt, r.Id
            select new { Repo = r, u.Name, u.Email }).ToListAsync(ct);
        return Results.Json(new { repositories = rows.Select(r => OrgJson.Repo(r.Repo, r.Name, r.Email)) });
    }

    static async Task<IResult> Add(OrgCaller caller, HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        switch (RepoUrls.TryParse(OrgRequests.Str(body, "repository_url"), out var repo))
        {
            case RepoUrls.Problem.InvalidUrl: return Errors.Error(400, "Invalid URL format");
            case RepoUrls.Problem.HostNotAllowed: return Errors.Error(400, "Repository domain not allowed");
        }
        if (body["repository_name"] is not null && OrgRequests.Str(body, "repository_name") is null) return Errors.Error(400, "repository_name must be a string");
        var name = OrgRequests.Str(body, "repository_name")?.Trim() is { Length: > 0 } given ? given : repo!.Name;

        var row = new OrgRepo
        {
            Id = Guid.NewGuid().ToString(), OrgId = caller.OrgId, RepoUrl = repo!.Url, RepoName = name, RepoOwner = repo.Owner,
            ApprovedBy = caller.User.Id, ApprovedAt = clock.GetUtcNow().UtcDateTime, IsActive = true,
        };
        // The seed's (org_id, repo_url) index is not unique; the org's row lock makes check-then-insert safe.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlAsync($"SELECT 1 FROM org WHERE id = {caller.OrgId} FOR NO KEY UPDATE", ct);
        if (await db.OrgRepos.AnyAsync(r => r.OrgId == caller.OrgId && r.RepoUrl == row.RepoUrl, ct))
            return Errors.Error(409, "Repository already added to organization");
        db.OrgRepos.Add(row);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return Results.Json(OrgJson.Repo(row, caller.User.Name, caller.User.Email), statusCode: 201);
    }

    static async Task<IResult> SetActive(string repoId, OrgCaller caller, HttpRequest request, AppDbContext db, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (OrgRequests.Bool(body, "isActive") is not { } active) return Errors.Error(400, "isActive must be true or false");
        var admin = AdministeredBy(db, caller.User.Id);
        var changed = await db.OrgRepos.Where(r => r.Id == repoId && r.OrgId == caller.OrgId && admin.Contains(r.OrgId))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.IsActive, active), ct);
        return changed == 1 ? Results.Json(new { success = true }) : Errors.Error(404, "Repository not found");
    }

    static async Task<IResult> Delete(string repoId, OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var admin = AdministeredBy(db, caller.User.Id);
        var deleted = await db.OrgRepos.Where(r => r.Id == repoId && r.OrgId == caller.OrgId && admin.Contains(r.OrgId)).ExecuteDeleteAsync(ct);
        return deleted == 1 ? Results.Json(new { success = true }) : Errors.Error(404, "Repository not found");
    }
}
