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

    static async Task<IResult> List(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await OrgQueries.MembersAsync(db, caller.OrgId, ct);
        return Results.Json(new
        {
            members = rows.Select(r => new { user = new { id = r.UserId, name = r.Name, email = r.Email }, role = OrgJson.Role(r.Role), joined_at = r.JoinedAt }),
        });
    }

    /// <summary>[our choice] 201 {"success":true} for every address, with or without an account (see <see cref="PendingMembers"/>).</summary>
    static async Task<IResult> Add(OrgCaller caller, HttpRequest request, PendingMembers pending, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var email = OrgRequests.Str(body, "email")?.Trim();
        if (!OrgRequests.IsEmail(email)) return Errors.Error(400, "A valid email is required");
        if (OrgRequests.Role(OrgRequests.Str(body, "role")) is not { } role) return Errors.Error(400, "Role must be one of owner, admin, member");
        var (added, refusal) = await pending.AddAsync(caller, email!, role, ct);
        if (refusal is not null) return refusal.ToResult();
        return added == PendingMembers.Added.AlreadyMember ? Errors.Error(409, "User is already a member") : Results.Json(new { success = true }, statusCode: 201);
    }

    static async Task<IResult> ChangeRole(string userId, OrgCaller caller, HttpRequest request, Memberships members, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (OrgRequests.Role(OrgRequests.Str(body, "role")) is not { } role) return Errors.Error(400, "Role must be one of owner, admin, member");
        return await members.ChangeRoleAsync(caller, userId, role, ct) is { } refusal ? refusal.ToResult() : Results.Json(new { success = true });
    }

    static async Task<IResult> Remove(string userId, OrgCaller caller, Memberships members, CancellationToken ct) =>
        await members.RemoveAsync(caller, userId, ct) is { } refusal ? refusal.ToResult() : Results.Json(new { success = true });
}
