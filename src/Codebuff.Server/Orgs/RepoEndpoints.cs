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

    static async Task<Ok<RepoList>> List(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await OrgQueries.ReposAsync(db, caller.OrgId, ct);
        return TypedResults.Ok(new RepoList(rows.Select(r => OrgJson.Repo(r.Repo, r.ApproverName, r.ApproverEmail))));
    }

    static async Task<Results<Created<OrgWire.Repo>, ErrorResult>> Add(OrgCaller caller, HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (RepoUrls.TryParse(OrgRequests.Str(body, "repository_url"), out _) == RepoUrls.Problem.None
            && body["repository_name"] is not null && OrgRequests.Str(body, "repository_name") is null)
            return Errors.Error(400, "repository_name must be a string");
        var (row, refusal) = await RepoApprovals.AddAsync(caller, OrgRequests.Str(body, "repository_url"), OrgRequests.Str(body, "repository_name"), db, clock, ct);
        return refusal is not null ? refusal.ToResult() : TypedResults.Created((string?)null, OrgJson.Repo(row!, caller.User.Name, caller.User.Email));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> SetActive(string repoId, OrgCaller caller, HttpRequest request, AppDbContext db, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (OrgRequests.Bool(body, "isActive") is not { } active) return Errors.Error(400, "isActive must be true or false");
        return await RepoApprovals.SetActiveAsync(caller, repoId, active, db, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> Delete(string repoId, OrgCaller caller, AppDbContext db, CancellationToken ct) =>
        await RepoApprovals.RemoveAsync(caller, repoId, db, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));
}
