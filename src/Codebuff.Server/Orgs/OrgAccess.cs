namespace Codebuff.Server.Orgs;

/// <summary>
/// Membership checks, attached once to the /api/orgs/{orgId} group (api.md §5.5): a caller who is not a member gets
/// 404 "Organization not found" (an outsider learns nothing about the org), a member below a route's role 403
/// "Insufficient permissions". Routes declare their role with <see cref="RequireRole"/>; writes repeat the check in
/// their own statement (<see cref="AdministeredBy"/>) so a role revoked in between cannot slip through.
/// </summary>
public static class OrgAccess
{
    /// <summary>The roles that administer an org: the one spelling of the rule, used in C#, LINQ and raw SQL alike.</summary>
    public static IReadOnlyList<OrgRole> AdminRoles { get; } = [OrgRole.Owner, OrgRole.Admin];

    public static bool IsAdmin(OrgRole role) => AdminRoles.Contains(role);

    public const string NotFound = "Organization not found";

    /// <summary>
    /// The one permission rule of org routes and org pages: not a member → 404 (an outsider learns nothing), below
    /// <paramref name="minimum"/> → 403, else null.
    /// </summary>
    public static Refusal? Check(OrgRole? role, OrgRole minimum, string? refusal = null) =>
        role is null ? new(404, NotFound) : role.Value > minimum ? new(403, refusal ?? "Insufficient permissions") : null;

    /// <summary>Route metadata: the least role that may call it, and the refusal for anyone below.</summary>
    public sealed record MinimumRole(OrgRole Role, string Refusal = "Insufficient permissions");

    public static RouteHandlerBuilder RequireRole(this RouteHandlerBuilder route, OrgRole role, string? refusal = null) =>
        route.WithMetadata(refusal is null ? new MinimumRole(role) : new MinimumRole(role, refusal));

    public static RouteGroupBuilder RequireMembership(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var role = (await ResolveAsync(http)).Membership;
            var minimum = http.GetEndpoint()?.Metadata.GetMetadata<MinimumRole>();
            return Check(role, minimum?.Role ?? OrgRole.Member, minimum?.Refusal) is { } refusal ? refusal.ToResult() : await next(context);
        });

    /// <summary>The request's caller and their role in the route's org (null: not a member), looked up once.</summary>
    public static async Task<OrgCaller> ResolveAsync(HttpContext http)
    {
        if (http.Features.Get<OrgCaller>() is { } known) return known;
        var user = Caller.Of(http).Required;
        var orgId = http.GetRouteValue("orgId") as string ?? "";
        var db = http.RequestServices.GetRequiredService<AppDbContext>();
        var caller = new OrgCaller(user, orgId, await RoleAsync(db, orgId, user.Id, http.RequestAborted));
        http.Features.Set(caller);
        return caller;
    }

    public static Task<OrgRole?> RoleAsync(AppDbContext db, string orgId, string userId, CancellationToken ct) =>
        db.OrgMembers.Where(m => m.OrgId == orgId && m.UserId == userId).Select(m => (OrgRole?)m.Role).FirstOrDefaultAsync(ct);

    /// <summary><see cref="IsAdmin"/> as a query: the memberships of owners and admins.</summary>
    public static IQueryable<OrgMember> Admins(AppDbContext db) =>
        db.OrgMembers.Where(m => AdminRoles.Contains(m.Role));

    /// <summary>Ids of the orgs the user is an owner or admin of, for use inside a write's own WHERE clause.</summary>
    public static IQueryable<string> AdministeredBy(AppDbContext db, string userId) =>
        Admins(db).Where(m => m.UserId == userId).Select(m => m.OrgId);

    /// <summary>Ids of the orgs the user owns, for use inside a write's own WHERE clause.</summary>
    public static IQueryable<string> OwnedBy(AppDbContext db, string userId) =>
        db.OrgMembers.Where(m => m.UserId == userId && m.Role == OrgRole.Owner).Select(m => m.OrgId);

}
