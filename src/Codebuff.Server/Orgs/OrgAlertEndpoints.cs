using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>
/// /api/orgs/{orgId}/alerts (upstream's shape: <c>{"alerts":[{"id","type","severity","title","message","timestamp"}]}</c>):
/// the org's open alerts for members (<see cref="OrgAlerts.ListAsync"/>), dismissed by admins for everyone.
/// </summary>
public static class OrgAlertEndpoints
{
    public static void Map(RouteGroupBuilder org)
    {
        org.MapGet("/alerts", List).Answers<AlertList>().Refuses(404);
        org.MapPost("/alerts/{alertId}/dismiss", Dismiss).RequireRole(OrgRole.Admin).Answers<Succeeded>().Refuses(403, 404);
    }

    static async Task<Ok<AlertList>> List(OrgCaller caller, AppDbContext db, OrgBilling billing, CancellationToken ct)
    {
        var alerts = await OrgAlerts.ListAsync(db, billing, caller.OrgId, ct);
        return TypedResults.Ok(new AlertList(alerts.Select(a => new Alert(a.Id.ToString(), a.Kind, a.Severity, a.Title, a.Message, a.CreatedAt))));
    }

    /// <summary>[our choice] upstream answers success for any id; an id that is not an alert of this org answers 404.</summary>
    static async Task<Results<Ok<Succeeded>, ErrorResult>> Dismiss(string alertId, OrgCaller caller, AppDbContext db, TimeProvider clock, CancellationToken ct) =>
        await OrgAlerts.DismissAsync(db, caller, alertId, clock.GetUtcNow().UtcDateTime, ct)
            ? TypedResults.Ok(new Succeeded(true))
            : Errors.Error(404, OrgAlerts.NotFound);
}
