using Codebuff.Server.Billing;

namespace Codebuff.Server.Health;

public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/healthz", async Task<Results<Ok<Healthy>, JsonHttpResult<Unhealthy>>> (HttpContext http, AppDbContext db, ChargeQueue charges, TimeProvider clock, ILogger<AppDbContext> log, CancellationToken ct) =>
        {
            try
            {
                var agents = await db.AgentConfigs.CountAsync(ct);
                return TypedResults.Ok(new Healthy("ok", agents, charges.Pending, Problems(charges), IsoUtcDateTimeConverter.Format(clock.GetUtcNow().UtcDateTime)));
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                log.LogWarning("Health check: database unreachable: {Message}", e.Message);
                http.Response.Headers.RetryAfter = DatabaseUnavailable.RetryAfterSeconds.ToString();
                return TypedResults.Json(new Unhealthy("error", $"database unreachable: {e.Message}", charges.Pending, Problems(charges)), statusCode: 503);
            }
        }).Answers<Healthy>().RefusesWith<Unhealthy>(503);

    static List<BillingError> Problems(ChargeQueue charges) =>
        [.. charges.Problems.Select(p => new BillingError(p.Source, p.Error, IsoUtcDateTimeConverter.Format(p.Since)))];

    /// <summary>
    /// pending_charges: answered calls whose charge is not in the database yet; billing_errors: what of billing is
    /// failing now — "journal" (the charge journal cannot write, e.g. a full disk), "database" (charges cannot be
    /// written and are being retried) or "writer" — each with its latest error and since when (see Ledger/ChargeQueue.cs).
    /// </summary>
    public sealed record Healthy(string Status, [property: JsonPropertyName("cached_agents")] int CachedAgents,
        [property: JsonPropertyName("pending_charges")] int PendingCharges, [property: JsonPropertyName("billing_errors")] List<BillingError> BillingErrors,
        string Timestamp);
    public sealed record Unhealthy(string Status, string Error, [property: JsonPropertyName("pending_charges")] int PendingCharges,
        [property: JsonPropertyName("billing_errors")] List<BillingError> BillingErrors);
    public sealed record BillingError(string Source, string Error, string Since);
}
