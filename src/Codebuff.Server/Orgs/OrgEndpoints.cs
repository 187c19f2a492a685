using Codebuff.Server.Billing;
using Codebuff.Server.Payments;
using static Codebuff.Server.Orgs.OrgAccess;
using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>Organizations themselves (api.md §5.5): list mine, create, read by id or slug, update, settings, delete.</summary>
public static class OrgEndpoints
{
    public static void MapOrgs(this IEndpointRouteBuilder app)
    {
        var orgs = app.MapGroup("/api/orgs").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        orgs.MapGet("", List).Answers<OrgList>();
        orgs.MapPost("", Create).Takes<CreateOrg>().Answers<OrgRow>(201).Refuses(400).RefuseSuspended();
        orgs.MapGet("/slug/{slug}", GetBySlug).Answers<OrgDetail>().Refuses(404);

        var org = orgs.MapGroup("/{orgId}").RequireMembership();
        org.MapGet("", Get).Answers<OrgDetail>().Refuses(404);
        org.MapPatch("", Update).RequireRole(OrgRole.Admin).Takes<UpdateOrg>().Answers<OrgRow>().Refuses(400, 403, 404);
        org.MapDelete("", Delete).RequireRole(OrgRole.Owner, OnlyOwnersDelete).Answers<Succeeded>().Refuses(403, 404, 409);
        org.MapGet("/settings", GetSettings).RequireRole(OrgRole.Admin).Answers<Settings>().Refuses(403, 404);
        org.MapPatch("/settings", UpdateSettings).RequireRole(OrgRole.Admin).Takes<SettingsUpdate>().Answers<Succeeded>().Refuses(400, 403, 404);
        org.MapDelete("/settings", Delete).RequireRole(OrgRole.Owner, OnlyOwnersDelete).Answers<Succeeded>().Refuses(403, 404, 409);
        MemberEndpoints.Map(org);
        InvitationEndpoints.Map(org, app);
        RepoEndpoints.Map(org);
        OrgUsageEndpoints.Map(org);
        OrgAlertEndpoints.Map(org);
        FeatureEndpoints.Map(app);
    }

    const string OnlyOwnersDelete = OrgWrites.OnlyOwnersDelete;
    public const string OnlyOwnersChargeCards = "Only organization owners can change auto top-up settings";

    static async Task<Ok<OrgList>> List(Caller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await OrgQueries.ListForUserAsync(db, caller.Required.Id, ct);
        return TypedResults.Ok(new OrgList(rows.Select(r => new OrgSummary(r.Id, r.Name, r.Slug, OrgJson.Role(r.Role), r.MemberCount, r.RepositoryCount))));
    }

    static async Task<Results<Created<OrgRow>, ErrorResult>> Create(Caller caller, HttpRequest request, AppDbContext db, StripeCustomers customers, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var name = OrgRequests.Str(body, "name");
        if (OrgNames.Error(name) is { } nameError) return Errors.Error(400, nameError);
        if (body["description"] is not null && OrgRequests.Str(body, "description") is null) return Errors.Error(400, "description must be a string");
        var (org, refusal) = await OrgWrites.CreateAsync(db, customers, clock, caller.Required, name, OrgRequests.Str(body, "description"), ct);
        return refusal is not null ? refusal.ToResult() : TypedResults.Created((string?)null, OrgJson.Org(org!));
    }

    static Task<Results<Ok<OrgDetail>, ErrorResult>> Get(OrgCaller caller, AppDbContext db, CreditLedger ledger, CancellationToken ct) =>
        DetailAsync(caller.OrgId, caller.Role, withOwner: false, db, ledger, ct);

    /// <summary>Like GET /api/orgs/{id}, found by slug; an org the caller is not a member of does not exist for them.</summary>
    static async Task<Results<Ok<OrgDetail>, ErrorResult>> GetBySlug(string slug, Caller caller, AppDbContext db, CreditLedger ledger, CancellationToken ct) =>
        await OrgQueries.MembershipBySlugAsync(db, slug, caller.Required.Id, ct) is { } member
            ? await DetailAsync(member.OrgId, member.Role, withOwner: true, db, ledger, ct)
            : Errors.Error(404, OrgAccess.NotFound);

    static async Task<Results<Ok<OrgDetail>, ErrorResult>> DetailAsync(string orgId, OrgRole role, bool withOwner, AppDbContext db, CreditLedger ledger, CancellationToken ct)
    {
        var row = await OrgQueries.WithCountsAsync(db, orgId, ct);
        if (row is null) return Errors.Error(404, "Organization not found");
        var balance = await ledger.GetBalanceAsync(LedgerOwner.Org(orgId), ct);
        var o = row.Org;
        return TypedResults.Ok(new OrgDetail(o.Id, o.Name, o.Slug, o.Description, OrgJson.Role(role), row.MemberCount, row.RepositoryCount,
            balance.NetBalance, o.StripeSubscriptionId is not null, o.StripeSubscriptionId,
            withOwner ? o.OwnerId : null, withOwner ? o.CreatedAt : null));
    }

    /// <summary>Name and description (<see cref="OrgWrites.UpdateAsync"/>).</summary>
    static async Task<Results<Ok<OrgRow>, ErrorResult>> Update(OrgCaller caller, HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        return await OrgWrites.UpdateAsync(caller, body, db, clock, ct) is { } refusal ? refusal.ToResult()
            : TypedResults.Ok(OrgJson.Org(await db.Orgs.AsNoTracking().FirstAsync(o => o.Id == caller.OrgId, ct)));
    }

    static async Task<Results<Ok<Settings>, ErrorResult>> GetSettings(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var o = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == caller.OrgId, ct);
        if (o is null) return Errors.Error(404, "Organization not found");
        return TypedResults.Ok(new Settings(o.Id, o.Name, o.Slug, o.Description, OrgJson.Role(caller.Role),
            o.AutoTopupEnabled,
            AutoTopupThreshold: o.AutoTopupThreshold == 0 ? 500 : o.AutoTopupThreshold,
            AutoTopupAmount: o.AutoTopupAmount == 0 ? 2000 : o.AutoTopupAmount,
            o.CreditLimit, o.BillingAlerts, o.UsageAlerts, o.WeeklyReports,
            // [our choice] why auto top-up switched itself off (a declined card), as the user's settings say it.
            AutoTopupBlockedReason: o.AutoTopupEnabled ? null : await AutoTopUp.BlockedReasonAsync(db, LedgerOwner.Org(o.Id), ct)));
    }

    /// <summary>The checks and the write are <see cref="OrgWrites.UpdateSettingsAsync"/>, shared with the settings page.</summary>
    static async Task<Results<Ok<Succeeded>, ErrorResult>> UpdateSettings(OrgCaller caller, HttpRequest request, AppDbContext db, IOptions<AutoTopUpLimits> limits, TimeProvider clock,
        OrgAlerts alerts, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        return await OrgWrites.UpdateSettingsAsync(caller, body, db, limits.Value, clock, alerts, ct) is { } refusal
            ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));
    }

    static async Task<Results<Ok<Succeeded>, ErrorResult>> Delete(OrgCaller caller, AppDbContext db, CancellationToken ct) =>
        await OrgWrites.DeleteAsync(caller, db, ct) is { } refusal ? refusal.ToResult() : TypedResults.Ok(new Succeeded(true));
}
