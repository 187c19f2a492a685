using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>Org invitations (api.md §5.5): managed under /api/orgs/{orgId}/invitations, shown and accepted under /api/invites/{token}.</summary>
public static class InvitationEndpoints
{
    public static void Map(RouteGroupBuilder org, IEndpointRouteBuilder app)
    {
        org.MapGet("/invitations", List).Answers<InvitationList>().Refuses(404);
        org.MapPost("/invitations", Create).RequireRole(OrgRole.Admin).Takes<Invite>().Answers<Succeeded>(201).Refuses(400, 403, 404, 409).RefuseSuspended();
        org.MapPost("/invitations/bulk", Bulk).RequireRole(OrgRole.Admin).Takes<BulkInvite>().Answers<BulkResult>(201).Refuses(400, 403, 404).RefuseSuspended();
        org.MapDelete("/invitations/{email}", Revoke).RequireRole(OrgRole.Admin).Answers<Succeeded>().Refuses(403, 404);
        org.MapPost("/invitations/{email}/resend", Resend).RequireRole(OrgRole.Admin).Answers<Succeeded>().Refuses(403, 404);

        app.MapGet("/api/invites/{token}", Show).Answers<InvitationView>().Refuses(404, 410); // anyone holding the link
        app.MapGroup("/api/invites").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).MapPost("/{token}", Accept).Answers<OrgWire.Accepted>().Refuses(403, 404, 409, 410);
    }

    static async Task<IResult> List(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await OrgQueries.PendingInvitationsAsync(db, caller.OrgId, ct);
        return Results.Json(new
        {
            invitations = rows.Select(r => new { id = r.Id, email = r.Email, role = OrgJson.Role(r.Role), invited_by_name = r.InvitedByName, created_at = r.CreatedAt, expires_at = r.ExpiresAt }),
        });
    }

    static async Task<IResult> Create(OrgCaller caller, HttpRequest request, Invitations invitations, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var (email, role, problem) = ReadInvitee(body);
        if (problem is not null) return Errors.Error(400, problem);
        return await invitations.CreateAsync(caller, email!, role, ct) is { } refusal ? refusal.ToResult() : Results.Json(new { success = true }, statusCode: 201);
    }

    /// <summary>
    /// Asks each address to join as the single add does (<see cref="PendingMembers"/>); skipped lists only addresses
    /// that already are members. The whole list is checked before anything is asked.
    /// </summary>
    static async Task<IResult> Bulk(OrgCaller caller, HttpRequest request, PendingMembers pending, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (body["invitations"] is not JsonArray { Count: > 0 } list) return Errors.Error(400, "Invalid invitations array");
        var invitees = list.Select(n => n is JsonObject o ? ReadInvitee(o) : (null, OrgRole.Member, "Each invitation must be an object with email and role")).ToList();
        if (invitees.FirstOrDefault(i => i.Problem is not null) is { Problem: { } problem }) return Errors.Error(400, problem);

        if (invitees.Any(i => i.Role == OrgRole.Owner) && !caller.IsOwner) return Errors.Error(403, "Only owners can modify owner roles");

        var added = 0;
        var skipped = new JsonArray();
        foreach (var (email, role, _) in invitees)
        {
            var (outcome, refusal) = await pending.AddAsync(caller, email!, role, ct);
            if (refusal is not null) return refusal.ToResult();
            if (outcome == PendingMembers.Added.AlreadyMember) skipped.Add(new JsonObject { ["email"] = email, ["reason"] = "Already a member" });
            else added++;
        }
        return Results.Json(new JsonObject { ["success"] = true, ["added"] = added, ["skipped"] = skipped }, statusCode: 201);
    }

    static async Task<IResult> Revoke(string email, OrgCaller caller, Invitations invitations, CancellationToken ct) =>
        await invitations.RevokeAsync(caller, email, ct) is { } refusal ? refusal.ToResult() : Results.Json(new { success = true });

    static async Task<IResult> Resend(string email, OrgCaller caller, Invitations invitations, CancellationToken ct) =>
        await invitations.ResendAsync(caller, email, ct) is { } refusal ? refusal.ToResult() : Results.Json(new { success = true });

    static async Task<IResult> Show(string token, Invitations invitations, CancellationToken ct)
    {
        var (invitation, refusal) = await invitations.ShowAsync(token, ct);
        return refusal?.ToResult() ?? Results.Json(new { invitation });
    }

    static async Task<IResult> Accept(string token, Caller caller, Invitations invitations, CancellationToken ct)
    {
        var (accepted, refusal) = await invitations.AcceptAsync(token, caller.Required, ct);
        return refusal?.ToResult() ?? Results.Json(new
        {
            success = true,
            organization = new { id = accepted!.Id, name = accepted.Name, slug = accepted.Slug, role = accepted.Role },
        });
    }

    static (string? Email, OrgRole Role, string? Problem) ReadInvitee(JsonObject body) =>
        OrgRequests.Invitee(OrgRequests.Str(body, "email"), OrgRequests.Str(body, "role"));
}
