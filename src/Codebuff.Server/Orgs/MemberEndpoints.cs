using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>/api/orgs/{orgId}/members: list (members), ask someone to join (admins), change a role (admins), remove or leave.</summary>
public static class MemberEndpoints
{
    public static void Map(RouteGroupBuilder org)
    {
        org.MapGet("/members", List).Answers<MemberList>().Refuses(404);
        org.MapPost("/members", Add).RequireRole(OrgRole.Admin).Takes<AddMember>().Answers<Succeeded>(201).Refuses(400, 403, 404, 409).RefuseSuspended();
        org.MapPatch("/members/{userId}", ChangeRole).RequireRole(OrgRole.Admin).Takes<OrgWire.ChangeRole>().Answers<Succeeded>().Refuses(400, 403, 404);
        org.MapDelete("/members/{userId}", Remove).Answers<Succeeded>().Refuses(400, 403, 404); // admins remove others; every member may remove themself (leave)
    }

    static async Task<Ok<MemberList>> List(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await OrgQueries.MembersAsync(db, caller.OrgId, ct);
        return TypedResults.Ok(new MemberList(rows.Select(r => new Member(new MemberUser(r.UserId, r.Name, r.Email), OrgJson.Role(r.Role), r.JoinedAt))));
    }

    /// <summary>[our choice] 201 {"success":true} for every address, with or without an account (see <see cref="PendingMembers"/>).</summary>
    static async Task<Results<Created<Succeeded>, ErrorResult>> Add(OrgCaller caller, HttpRequest request, PendingMembers pending, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var email = OrgRequests.Str(body, "email")?.Trim();
        if (!OrgRequests.IsEmail(email)) return Errors.Error(400, "A valid email is required");
        if (OrgRequests.Role(OrgRequests.Str(body, "role")) is not { } role) return Errors.Error(400, "Role must be one of owner, admin, member");
        var (added, refusal) = await pending.AddAsync(caller, email!, role, ct);
        if (refusal is not null) return refusal.ToResult();
        return added == PendingMembers.Added.AlreadyMember ? Errors.Error(409, "User is already a member") : TypedResults.Created((string?)null, new Succeeded(true));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> ChangeRole(string userId, OrgCaller caller, HttpRequest request, Memberships members, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (OrgRequests.Role(OrgRequests.Str(body, "role")) is not { } role) return Errors.Error(400, "Role must be one of owner, admin, member");
        return await members.ChangeRoleAsync(caller, userId, role, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> Remove(string userId, OrgCaller caller, Memberships members, CancellationToken ct) =>
        await members.RemoveAsync(caller, userId, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));
}
