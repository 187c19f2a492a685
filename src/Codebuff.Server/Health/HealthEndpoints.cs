using System.Text.Json.Serialization;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Health;

public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/healthz", async (AppDbContext db, TimeProvider clock, ILogger<AppDbContext> log, CancellationToken ct) =>
        {
            try
            {
                var agents = await db.AgentConfigs.CountAsync(ct);
                return Results.Json(new Healthy("ok", agents, IsoUtcDateTimeConverter.Format(clock.GetUtcNow().UtcDateTime)));
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
            {
                log.LogWarning("Health check: database unreachable: {Message}", e.Message);
                return Results.Json(new Unhealthy("error", $"database unreachable: {e.Message}"), statusCode: 503);
            }
        }).Answers<Healthy>().RefusesWith<Unhealthy>(503);

    public sealed record Healthy(string Status, [property: JsonPropertyName("cached_agents")] int CachedAgents, string Timestamp);
    public sealed record Unhealthy(string Status, string Error);
}
