using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>
/// Per-org feature configuration (org_feature), read and written by site admins only (api.md §5.5):
/// the e-mail addresses listed in Codebuff:Admins.
/// </summary>
public static class FeatureEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var features = app.MapGroup("/api/admin/orgs/{orgId}/features/{feature}").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).RequireSiteAdmin();
        features.MapGet("", Get).Answers<OrgWire.Feature>().RefusesWith<NoFeature>(404).Refuses(403);
        features.MapPost("", Upsert).Takes<FeatureConfig>().Answers<OrgWire.Feature>().Refuses(400, 403, 404);
    }

    /// <summary>Site admins: configured e-mail addresses (case-insensitive); 403 {"error":"Forbidden - not an admin"} for anyone else.</summary>
    public static RouteGroupBuilder RequireSiteAdmin(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var options = http.RequestServices.GetRequiredService<IOptions<CodebuffOptions>>().Value;
            return options.IsSiteAdmin(Caller.Of(http).Required.Email)
                ? await next(context) : Errors.Error(403, "Forbidden - not an admin");
        });

    static async Task<Results<Ok<OrgWire.Feature>, JsonHttpResult<NoFeature>>> Get(string orgId, string feature, AppDbContext db, CancellationToken ct)
    {
        var row = await db.OrgFeatures.AsNoTracking().FirstOrDefaultAsync(f => f.OrgId == orgId && f.Feature == feature, ct);
        return row is null ? TypedResults.Json(new NoFeature(null), statusCode: 404) : TypedResults.Ok(OrgJson.Feature(row));
    }

    /// <summary>The whole body is the feature's config: inserted, or replacing the stored one (updated_at bumped).</summary>
    static async Task<Results<Ok<OrgWire.Feature>, ErrorResult>> Upsert(string orgId, string feature, HttpRequest request, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (ok, config) = await RequestJson.TryReadAsync(request, ct);
        if (!ok) return Errors.InvalidJson();
        var now = clock.GetUtcNow().UtcDateTime;
        var json = config?.ToJsonString();
        try
        {
            var rows = await db.OrgFeatures.FromSql($"""
                INSERT INTO org_feature (org_id, feature, config, is_active, created_at, updated_at)
                VALUES ({orgId}, {feature}, {json}::jsonb, true, {now}, {now})
                ON CONFLICT (org_id, feature) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
                RETURNING *
                """).AsNoTracking().ToListAsync(ct);
            return TypedResults.Ok(OrgJson.Feature(rows[0]));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return Errors.Error(404, "Organization not found");
        }
    }
}
