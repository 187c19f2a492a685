namespace Codebuff.Server.Orgs;

/// <summary>
/// The caller of a route under /api/orgs/{orgId}: the user, the org and the caller's role in it. Handlers only ever see
/// members: the group's filter has answered everyone else before the handler runs.
/// </summary>
public sealed record OrgCaller(User User, string OrgId, OrgRole? Membership)
{
    public OrgRole Role => Membership ?? throw new InvalidOperationException("not a member: the route is missing OrgAccess.RequireMembership");
    public bool IsAdmin => OrgAccess.IsAdmin(Role);
    public bool IsOwner => Role == OrgRole.Owner;

    /// <summary>Minimal API binding (which runs before endpoint filters): the membership is looked up once per request.</summary>
    public static async ValueTask<OrgCaller?> BindAsync(HttpContext http) => await OrgAccess.ResolveAsync(http);
}
