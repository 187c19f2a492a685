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

    static async Task<Ok<InvitationList>> List(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await OrgQueries.PendingInvitationsAsync(db, caller.OrgId, ct);
        return TypedResults.Ok(new InvitationList(rows.Select(r => new Invitation(r.Id, r.Email, OrgJson.Role(r.Role), r.InvitedByName, r.CreatedAt, r.ExpiresAt))));
    }

    static async Task<Results<Created<Succeeded>, ErrorResult>> Create(OrgCaller caller, HttpRequest request, Invitations invitations, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var (email, role, problem) = ReadInvitee(body);
        if (problem is not null) return Errors.Error(400, problem);
        return await invitations.CreateAsync(caller, email!, role, ct) is { } refusal ? refusal.ToResult() : TypedResults.Created((string?)null, new Succeeded(true));
    }

    /// <summary>
    /// Asks each address to join as the single add does (<see cref="PendingMembers"/>); skipped lists only addresses
    /// that already are members. The whole list is checked before anything is asked.
    /// </summary>
    static async Task<Results<Created<BulkResult>, ErrorResult>> Bulk(OrgCaller caller, HttpRequest request, PendingMembers pending, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        if (body["invitations"] is not JsonArray { Count: > 0 } list) return Errors.Error(400, "Invalid invitations array");
        var invitees = list.Select(n => n is JsonObject o ? ReadInvitee(o) : (null, OrgRole.Member, "Each invitation must be an object with email and role")).ToList();
        if (invitees.FirstOrDefault(i => i.Problem is not null) is { Problem: { } problem }) return Errors.Error(400, problem);

        if (invitees.Any(i => i.Role == OrgRole.Owner) && !caller.IsOwner) return Errors.Error(403, "Only owners can modify owner roles");

        var added = 0;
        var skipped = new List<Skipped>();
        foreach (var (email, role, _) in invitees)
        {
            var (outcome, refusal) = await pending.AddAsync(caller, email!, role, ct);
            if (refusal is not null) return refusal.ToResult();
            if (outcome == PendingMembers.Added.AlreadyMember) skipped.Add(new Skipped(email!, "Already a member"));
            else added++;
        }
        return TypedResults.Created((string?)null, new BulkResult(true, added, skipped));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> Revoke(string email, OrgCaller caller, Invitations invitations, CancellationToken ct) =>
        await invitations.RevokeAsync(caller, email, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));

    static async Task<Results<Ok<Succeeded>, ErrorResult>> Resend(string email, OrgCaller caller, Invitations invitations, CancellationToken ct) =>
        await invitations.ResendAsync(caller, email, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));

    static async Task<Results<Ok<InvitationView>, ErrorResult>> Show(string token, Invitations invitations, CancellationToken ct)
    {
        var (invitation, refusal) = await invitations.ShowAsync(token, ct);
        return refusal is not null ? refusal.ToResult() : TypedResults.Ok(new InvitationView(invitation!));
    }

    static async Task<Results<Ok<OrgWire.Accepted>, ErrorResult>> Accept(string token, Caller caller, Invitations invitations, CancellationToken ct)
    {
        var (accepted, refusal) = await invitations.AcceptAsync(token, caller.Required, ct);
        return refusal is not null ? refusal.ToResult()
            : TypedResults.Ok(new OrgWire.Accepted(true, new JoinedOrg(accepted!.Id, accepted.Name, accepted.Slug, accepted.Role)));
    }

    static (string? Email, OrgRole Role, string? Problem) ReadInvitee(JsonObject body) =>
        OrgRequests.Invitee(OrgRequests.Str(body, "email"), OrgRequests.Str(body, "role"));
}
