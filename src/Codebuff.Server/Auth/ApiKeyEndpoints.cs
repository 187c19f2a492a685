using System.Text.Json.Nodes;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Auth;

/// <summary>
/// Personal access tokens and the other sessions of a user (api.md §5.2). Tokens are stored hashed, so the opaque id
/// of a session or token in these routes is its stored hash; the raw token is shown once, when created.
/// </summary>
public static class ApiKeyEndpoints
{
    public static void MapApiKeys(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        api.MapGet("/api-keys", ListTokens);
        api.MapPost("/api-keys", CreateToken).RequireRateLimiting(AuthRateLimits.Tokens).RequirePerCallerTokenLimit();
        api.MapDelete("/sessions", Revoke).WithMetadata(Unauthenticated.PlainText);
        api.MapGet("/user/sessions", ListSessions);
        api.MapPost("/user/sessions/logout-all", LogoutAll);
    }

    static async Task<IResult> ListTokens(Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var tokens = await UserSessions.ListTokensAsync(db, caller.Required.Id, clock.GetUtcNow().UtcDateTime, ct);
        // The schema keeps no creation or last-used time for sessions, so createdAt stays null as upstream's does.
        return Results.Json(new
        {
            tokens = tokens.Select(t => new { id = t.Id, token = t.Masked, expires = t.Expires, createdAt = (DateTime?)null, type = "pat" }),
        });
    }

    static async Task<IResult> CreateToken(HttpContext http, Caller caller, AppDbContext db, TokenHasher hasher, TimeProvider clock, CancellationToken ct)
    {
        // Every field is optional, so no body at all means the defaults; anything else must be a JSON object.
        using var reader = new StreamReader(http.Request.Body);
        var text = await reader.ReadToEndAsync(ct);
        JsonObject? body;
        try
        {
            body = string.IsNullOrWhiteSpace(text) ? new JsonObject() : JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            body = null;
        }
        if (body is null) return Errors.Error(400, "Invalid request body");
        var days = 365;
        if (body["name"] is { } name && (name.GetValueKind() != System.Text.Json.JsonValueKind.String || name.GetValue<string>().Length == 0))
            return Errors.Details(400, "Invalid request body", "name must be a non-empty string");
        if (body["expiresInDays"] is { } d)
        {
            if (d.GetValueKind() != System.Text.Json.JsonValueKind.Number || !d.AsValue().TryGetValue(out days) || days is < 1 or > 365)
                return Errors.Details(400, "Invalid request body", "expiresInDays must be a whole number from 1 to 365");
        }
        var (token, expires) = await UserSessions.CreateTokenAsync(db, hasher, caller.Required.Id, days, clock.GetUtcNow().UtcDateTime, ct);
        return Results.Json(new { token, expires, message = "API Key created successfully" }, statusCode: 201);
    }

    static async Task<IResult> Revoke(HttpContext http, Caller caller, AppDbContext db, TokenHasher hasher, CancellationToken ct)
    {
        if (await RequestJson.ReadAsync(http.Request, ct) is not JsonObject body
            || !TryIds(body, "sessionIds", out var sessionIds) || !TryIds(body, "tokenIds", out var tokenIds))
            return Errors.Details(400, "Invalid request body", "sessionIds and tokenIds must be arrays of strings");

        var (revokedSessions, revokedTokens) = await UserSessions.RevokeAsync(db, hasher, caller.Required.Id, sessionIds, tokenIds, ct);
        return Results.Json(new { revokedSessions, revokedTokens });
    }

    static async Task<IResult> ListSessions(Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var current = caller.SessionId;
        var sessions = await UserSessions.ListSessionsAsync(db, caller.Required.Id, clock.GetUtcNow().UtcDateTime, ct);
        return Results.Json(new
        {
            activeSessions = sessions.Select(s => new
            {
                id = s.Id, label = s.Label, expires = s.Expires, isCurrent = s.Id == current,
                fingerprintId = s.FingerprintId, createdAt = s.FingerprintCreatedAt, sessionType = s.Type == SessionType.Cli ? "cli" : "web",
            }),
        });
    }

    static async Task<IResult> LogoutAll(HttpContext http, Caller caller, AppDbContext db, IOptions<CodebuffOptions> options, CancellationToken ct)
    {
        if (WebSession.IsCrossSite(http, caller, options.Value.AppUrl))
            return Errors.Error(403, "Forbidden - not same origin, cannot logout all sessions");
        var current = caller.SessionId;
        await db.Sessions.Where(s => s.UserId == caller.Required.Id && s.Type == SessionType.Web && s.SessionToken != current).ExecuteDeleteAsync(ct);
        return Results.Json(new { ok = true });
    }

    static bool TryIds(JsonObject body, string name, out List<string> ids)
    {
        ids = [];
        if (body[name] is null) return true;
        if (body[name] is not JsonArray array) return false;
        foreach (var item in array)
        {
            if (item?.GetValueKind() != System.Text.Json.JsonValueKind.String) return false;
            ids.Add(item.GetValue<string>());
        }
        return true;
    }
}
