using Codebuff.Server.Billing;

namespace Codebuff.Server.Health;

public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/healthz", async (HttpContext http, AppDbContext db, ChargeQueue charges, TimeProvider clock, ILogger<AppDbContext> log, CancellationToken ct) =>
        {
            try
            {
                var agents = await db.AgentConfigs.CountAsync(ct);
                return Results.Json(new Healthy("ok", agents, charges.Pending, IsoUtcDateTimeConverter.Format(clock.GetUtcNow().UtcDateTime)));
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                log.LogWarning("Health check: database unreachable: {Message}", e.Message);
                http.Response.Headers.RetryAfter = DatabaseUnavailable.RetryAfterSeconds.ToString();
                return Results.Json(new Unhealthy("error", $"database unreachable: {e.Message}", charges.Pending), statusCode: 503);
            }
        }).Answers<Healthy>().RefusesWith<Unhealthy>(503);

    /// <summary>pending_charges: answered calls whose charge is not in the database yet (see Billing/ChargeQueue.cs).</summary>
    public sealed record Healthy(string Status, [property: JsonPropertyName("cached_agents")] int CachedAgents,
        [property: JsonPropertyName("pending_charges")] int PendingCharges, string Timestamp);
    public sealed record Unhealthy(string Status, string Error, [property: JsonPropertyName("pending_charges")] int PendingCharges);
}
