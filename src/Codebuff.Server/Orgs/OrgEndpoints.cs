using Codebuff.Server.Auth;
using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Payments;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using static Codebuff.Server.Orgs.OrgAccess;
using Codebuff.Server.Hosting;

using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>Organizations themselves (api.md §5.5): list mine, create, read by id or slug, update, settings, delete.</summary>
public static class OrgEndpoints
{
    public static void MapOrgs(this IEndpointRouteBuilder app)
    {
        var orgs = app.MapGroup("/api/orgs").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        orgs.MapGet("", List).Answers<OrgList>();
        orgs.MapPost("", Create).Takes<CreateOrg>().Answers<OrgRow>(201).Refuses(400);
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
        FeatureEndpoints.Map(app);
    }

    const string OnlyOwnersDelete = "Only organization owners can delete organizations";

    /// <summary>Defaults of a new org (api.md §5.5): auto top-up on, 20000 credits when the balance falls to 5000.</summary>
    public const int DefaultTopupAmount = 20000, DefaultTopupThreshold = 5000;

    static async Task<IResult> List(Caller caller, AppDbContext db, CancellationToken ct)
    {
        var rows = await (
            from m in db.OrgMembers.AsNoTracking()
            join o in db.Orgs on m.OrgId equals o.Id
            where m.UserId == caller.Required.Id
            orderby o.CreatedAt, o.Id
            select new
            {
                o.Id, o.Name, o.Slug, m.Role,
                Members = db.OrgMembers.Count(x => x.OrgId == o.Id),
                Repos = db.OrgRepos.Count(r => r.OrgId == o.Id && r.IsActive),
            }).ToListAsync(ct);
        return Results.Json(new
        {
            organizations = rows.Select(r => new { id = r.Id, name = r.Name, slug = r.Slug, role = OrgJson.Role(r.Role), memberCount = r.Members, repositoryCount = r.Repos }),
        });
    }

    static async Task<IResult> Create(Caller caller, HttpRequest request, AppDbContext db, StripeCustomers customers, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var name = OrgRequests.Str(body, "name");
        if (OrgNames.Error(name) is { } nameError) return Errors.Error(400, nameError);
        if (body["description"] is { } d && OrgRequests.Str(body, "description") is null) return Errors.Error(400, "description must be a string");
        name = name!.Trim();
        var baseSlug = OrgNames.BaseSlug(name);

        // Two creators of the same name may race for a slug; the unique constraint decides and the loser takes the next.
        for (var attempt = 0; ; attempt++)
        {
            var taken = (await db.Orgs.Where(o => o.Slug == baseSlug || o.Slug.StartsWith(baseSlug + "-")).Select(o => o.Slug).ToListAsync(ct)).ToHashSet();
            var now = clock.GetUtcNow().UtcDateTime;
            var org = new Org
            {
                Id = Guid.NewGuid().ToString(), Name = name, Slug = OrgNames.FirstFree(baseSlug, taken),
                Description = OrgRequests.Str(body, "description"), OwnerId = caller.Required.Id,
                AutoTopupEnabled = true, AutoTopupAmount = DefaultTopupAmount, AutoTopupThreshold = DefaultTopupThreshold,
                CreatedAt = now, UpdatedAt = now,
            };
            db.Orgs.Add(org);
            db.OrgMembers.Add(new OrgMember { OrgId = org.Id, UserId = caller.Required.Id, Role = OrgRole.Owner, JoinedAt = now });
            try
            {
                await db.SaveChangesAsync(ct);
                // api.md §5.5: the org's Stripe customer when Stripe is configured; a failure is recorded for retry.
                org.StripeCustomerId = await customers.EnsureForOrgAsync(db, org.Id, ct);
                return Results.Json(OrgJson.Org(org), statusCode: 201);
            }
            catch (DbUpdateException e) when (attempt < 5 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    static Task<IResult> Get(OrgCaller caller, AppDbContext db, CreditLedger ledger, CancellationToken ct) =>
        DetailAsync(caller.OrgId, caller.Role, withOwner: false, db, ledger, ct);

    /// <summary>Like GET /api/orgs/{id}, found by slug; an org the caller is not a member of does not exist for them.</summary>
    static async Task<IResult> GetBySlug(string slug, Caller caller, AppDbContext db, CreditLedger ledger, CancellationToken ct)
    {
        var member = await (
            from o in db.Orgs
            join m in db.OrgMembers on o.Id equals m.OrgId
            where o.Slug == slug && m.UserId == caller.Required.Id
            select new { o.Id, m.Role }).FirstOrDefaultAsync(ct);
        if (member is null) return Errors.Error(404, "Organization not found");
        return await DetailAsync(member.Id, member.Role, withOwner: true, db, ledger, ct);
    }

    static async Task<IResult> DetailAsync(string orgId, OrgRole role, bool withOwner, AppDbContext db, CreditLedger ledger, CancellationToken ct)
    {
        var row = await db.Orgs.AsNoTracking().Where(o => o.Id == orgId).Select(o => new
        {
            Org = o,
            Members = db.OrgMembers.Count(m => m.OrgId == o.Id),
            Repos = db.OrgRepos.Count(r => r.OrgId == o.Id && r.IsActive),
        }).FirstOrDefaultAsync(ct);
        if (row is null) return Errors.Error(404, "Organization not found");
        var balance = await ledger.GetBalanceAsync(LedgerOwner.Org(orgId), ct);
        var o = row.Org;
        var json = new JsonObject
        {
            ["id"] = o.Id, ["name"] = o.Name, ["slug"] = o.Slug, ["description"] = o.Description, ["userRole"] = OrgJson.Role(role),
            ["memberCount"] = row.Members, ["repositoryCount"] = row.Repos, ["creditBalance"] = balance.NetBalance,
            ["hasStripeSubscription"] = o.StripeSubscriptionId is not null, ["stripeSubscriptionId"] = o.StripeSubscriptionId,
        };
        if (withOwner)
        {
            json["owner_id"] = o.OwnerId;
            json["created_at"] = OrgJson.Time(o.CreatedAt);
        }
        return Results.Json(json);
    }

    /// <summary>Name and description. [our choice] a new name follows the creation rules; the slug stays, so links keep working.</summary>
    static async Task<IResult> Update(OrgCaller caller, HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var changes = new OrgChanges();
        if ((changes.Text(body, "name", required: false) ?? changes.Text(body, "description", required: false)) is { } problem) return Errors.Error(400, problem);
        return await changes.ApplyAsync(caller, db, clock, ct) ? Results.Json(OrgJson.Org(await db.Orgs.AsNoTracking().FirstAsync(o => o.Id == caller.OrgId, ct)))
            : Errors.Error(404, "Organization not found");
    }

    static async Task<IResult> GetSettings(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var o = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Id == caller.OrgId, ct);
        if (o is null) return Errors.Error(404, "Organization not found");
        return Results.Json(new
        {
            id = o.Id, name = o.Name, slug = o.Slug, description = o.Description, userRole = OrgJson.Role(caller.Role),
            autoTopupEnabled = o.AutoTopupEnabled,
            autoTopupThreshold = o.AutoTopupThreshold == 0 ? 500 : o.AutoTopupThreshold,
            autoTopupAmount = o.AutoTopupAmount == 0 ? 2000 : o.AutoTopupAmount,
            creditLimit = o.CreditLimit, billingAlerts = o.BillingAlerts, usageAlerts = o.UsageAlerts, weeklyReports = o.WeeklyReports,
            // [our choice] why auto top-up switched itself off (a declined card), as the user's settings say it.
            autoTopupBlockedReason = o.AutoTopupEnabled ? null : await AutoTopUp.BlockedReasonAsync(db, LedgerOwner.Org(o.Id), ct),
        });
    }

    /// <summary>[our choice] upstream stores whatever it is sent; we check each key's type and range and change nothing on an error.</summary>
    static async Task<IResult> UpdateSettings(OrgCaller caller, HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, error) = await OrgRequests.ReadObjectAsync(request, ct);
        if (body is null) return error!;
        var c = new OrgChanges();
        var problem = c.Text(body, "name", false) ?? c.Text(body, "description", false)
            ?? c.Flag(body, "autoTopupEnabled") ?? c.Flag(body, "billingAlerts") ?? c.Flag(body, "usageAlerts") ?? c.Flag(body, "weeklyReports")
            ?? c.Number(body, "autoTopupThreshold", 0, nullable: false) ?? c.Number(body, "autoTopupAmount", 500, nullable: false)
            ?? c.Number(body, "creditLimit", 0, nullable: true);
        if (problem is not null) return Errors.Error(400, problem);
        if (!await c.ApplyAsync(caller, db, clock, ct)) return Errors.Error(404, "Organization not found");
        // Turning auto top-up on is the admin's answer to whatever switched it off.
        if (c.EnablesAutoTopup) await AutoTopUp.ClearBlockAsync(db, LedgerOwner.Org(caller.OrgId), ct);
        return Results.Json(new { success = true });
    }

    /// <summary>
    /// Deletes the org and, by cascade, its members, invitations, repositories, features, credits and the org link of
    /// its messages. [our choice] publishers do not cascade (api.md §8 item 18), so an org that owns any is refused
    /// with a clear 409 instead of upstream's 500.
    /// </summary>
    static async Task<IResult> Delete(OrgCaller caller, AppDbContext db, CancellationToken ct)
    {
        var publishers = await db.Publishers.Where(p => p.OrgId == caller.OrgId).Select(p => p.Id).OrderBy(p => p).ToListAsync(ct);
        if (publishers.Count > 0)
            return Errors.Error(409, $"This organization still owns publishers ({string.Join(", ", publishers)}); they must be removed before the organization can be deleted");
        var owned = db.OrgMembers.Where(m => m.UserId == caller.User.Id && m.Role == OrgRole.Owner).Select(m => m.OrgId);
        var deleted = await db.Orgs.Where(o => o.Id == caller.OrgId && owned.Contains(o.Id)).ExecuteDeleteAsync(ct);
        return deleted == 1 ? Results.Json(new { success = true }) : Errors.Error(403, OnlyOwnersDelete);
    }

    /// <summary>The validated changes of one PATCH, applied in one UPDATE that also re-checks the caller's admin role.</summary>
    sealed class OrgChanges
    {
        readonly Dictionary<string, object?> _values = [];

        public bool EnablesAutoTopup => _values.TryGetValue("autoTopupEnabled", out var v) && v is true;

        public string? Text(JsonObject body, string key, bool required)
        {
            if (!body.TryGetPropertyValue(key, out var node)) return required ? $"{key} is required" : null;
            if (key == "name")
            {
                if (OrgNames.Error(OrgRequests.Str(body, key)) is { } e) return e;
                _values[key] = OrgRequests.Str(body, key)!.Trim();
                return null;
            }
            if (node is not null && OrgRequests.Str(body, key) is null) return $"{key} must be a string or null";
            _values[key] = OrgRequests.Str(body, key);
            return null;
        }

        public string? Flag(JsonObject body, string key)
        {
            if (!body.ContainsKey(key)) return null;
            if (OrgRequests.Bool(body, key) is not { } b) return $"{key} must be true or false";
            _values[key] = b;
            return null;
        }

        public string? Number(JsonObject body, string key, int min, bool nullable)
        {
            if (!body.TryGetPropertyValue(key, out var node)) return null;
            if (node is null && nullable) { _values[key] = null; return null; }
            if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var n) && n >= min) { _values[key] = n; return null; }
            return $"{key} must be a whole number of at least {min}{(nullable ? " or null" : "")}";
        }

        public async Task<bool> ApplyAsync(OrgCaller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var v = _values;
            var admin = AdministeredBy(db, caller.User.Id);
            return await db.Orgs.Where(o => o.Id == caller.OrgId && admin.Contains(o.Id)).ExecuteUpdateAsync(s =>
            {
                s.SetProperty(o => o.UpdatedAt, now);
                if (v.TryGetValue("name", out var name)) s.SetProperty(o => o.Name, (string)name!);
                if (v.TryGetValue("description", out var description)) s.SetProperty(o => o.Description, (string?)description);
                if (v.TryGetValue("autoTopupEnabled", out var enabled)) s.SetProperty(o => o.AutoTopupEnabled, (bool)enabled!);
                if (v.TryGetValue("billingAlerts", out var billing)) s.SetProperty(o => o.BillingAlerts, (bool)billing!);
                if (v.TryGetValue("usageAlerts", out var usage)) s.SetProperty(o => o.UsageAlerts, (bool)usage!);
                if (v.TryGetValue("weeklyReports", out var weekly)) s.SetProperty(o => o.WeeklyReports, (bool)weekly!);
                if (v.TryGetValue("autoTopupThreshold", out var threshold)) s.SetProperty(o => o.AutoTopupThreshold, (int)threshold!);
                if (v.TryGetValue("autoTopupAmount", out var amount)) s.SetProperty(o => o.AutoTopupAmount, (int)amount!);
                if (v.TryGetValue("creditLimit", out var limit)) s.SetProperty(o => o.CreditLimit, (int?)limit);
            }, ct) == 1;
        }
    }
}
