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
        app.MapGet("/api/api-keys", ListTokens);
        app.MapPost("/api/api-keys", CreateToken).RequireRateLimiting(AuthRateLimits.Tokens).RequirePerCallerTokenLimit();
        app.MapDelete("/api/sessions", Revoke);
        app.MapGet("/api/user/sessions", ListSessions);
        app.MapPost("/api/user/sessions/logout-all", LogoutAll);
    }

    static IResult Unauthorized() => Results.Json(new { error = "Unauthorized" }, statusCode: 401);

    static async Task<IResult> ListTokens(HttpContext http, AppDbContext db, TokenHasher hasher, TimeProvider clock, CancellationToken ct)
    {
        if (await RequestUser.FindAsync(http, db, hasher, null, ct) is not { } user) return Unauthorized();
        var now = clock.GetUtcNow().UtcDateTime;
        var tokens = await db.Sessions.Where(s => s.UserId == user.Id && s.Type == SessionType.Pat && s.Expires > now)
            .OrderBy(s => s.Expires).Select(s => new { s.SessionToken, s.Expires }).ToListAsync(ct);
        // The schema keeps no creation or last-used time for sessions, so createdAt stays null as upstream's does.
        return Results.Json(new
        {
            tokens = tokens.Select(t => new { id = t.SessionToken, token = $"cb-pat-…{t.SessionToken[^8..]}", expires = t.Expires, createdAt = (DateTime?)null, type = "pat" }),
        });
    }

    static async Task<IResult> CreateToken(HttpContext http, AppDbContext db, TokenHasher hasher, TimeProvider clock, CancellationToken ct)
    {
        if (await RequestUser.FindAsync(http, db, hasher, null, ct) is not { } user) return Unauthorized();
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
        if (body is null) return Results.Json(new { error = "Invalid request body" }, statusCode: 400);
        var days = 365;
        if (body["name"] is { } name && (name.GetValueKind() != System.Text.Json.JsonValueKind.String || name.GetValue<string>().Length == 0))
            return Results.Json(new { error = "Invalid request body", details = "name must be a non-empty string" }, statusCode: 400);
        if (body["expiresInDays"] is { } d)
        {
            if (d.GetValueKind() != System.Text.Json.JsonValueKind.Number || !d.AsValue().TryGetValue(out days) || days is < 1 or > 365)
                return Results.Json(new { error = "Invalid request body", details = "expiresInDays must be a whole number from 1 to 365" }, statusCode: 400);
        }
        var token = TokenHasher.NewPersonalAccessToken();
        var expires = clock.GetUtcNow().UtcDateTime.AddDays(days);
        db.Sessions.Add(new Session { SessionToken = hasher.Hash(token), UserId = user.Id, Type = SessionType.Pat, Expires = expires });
        await db.SaveChangesAsync(ct);
        return Results.Json(new { token, expires, message = "API Key created successfully" }, statusCode: 201);
    }

    static async Task<IResult> Revoke(HttpContext http, AppDbContext db, TokenHasher hasher, CliTokenVault vault, CancellationToken ct)
    {
        if (await RequestUser.FindAsync(http, db, hasher, null, ct) is not { } user) return Results.Text("Unauthorized", "text/plain", statusCode: 401);
        if (await RequestJson.ReadAsync(http.Request, ct) is not JsonObject body
            || !TryIds(body, "sessionIds", out var sessionIds) || !TryIds(body, "tokenIds", out var tokenIds))
            return Results.Json(new { error = "Invalid request body", details = "sessionIds and tokenIds must be arrays of strings" }, statusCode: 400);

        // An id is a stored hash; a raw token is accepted too and hashed here.
        var sessionKeys = sessionIds.SelectMany(id => new[] { id, hasher.Hash(id) }).ToList();
        var tokenKeys = tokenIds.SelectMany(id => new[] { id, hasher.Hash(id) }).ToList();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var fingerprints = await db.Sessions
            .Where(s => s.UserId == user.Id && s.Type == SessionType.Cli && s.FingerprintId != null && sessionKeys.Contains(s.SessionToken))
            .Select(s => s.FingerprintId!).ToListAsync(ct);
        var revokedSessions = await db.Sessions
            .Where(s => s.UserId == user.Id && (s.Type == SessionType.Web || s.Type == SessionType.Cli) && sessionKeys.Contains(s.SessionToken))
            .ExecuteDeleteAsync(ct);
        if (fingerprints.Count > 0)
            await db.Fingerprints.Where(f => fingerprints.Contains(f.Id)).ExecuteUpdateAsync(s => s.SetProperty(f => f.SigHash, (string?)null), ct);
        var revokedTokens = await db.Sessions
            .Where(s => s.UserId == user.Id && s.Type == SessionType.Pat && tokenKeys.Contains(s.SessionToken))
            .ExecuteDeleteAsync(ct);
        await tx.CommitAsync(ct);
        vault.Forget(sessionKeys);
        return Results.Json(new { revokedSessions, revokedTokens });
    }

    static async Task<IResult> ListSessions(HttpContext http, AppDbContext db, TokenHasher hasher, TimeProvider clock, CancellationToken ct)
    {
        if (await RequestUser.FindAsync(http, db, hasher, null, ct) is not { } user) return Unauthorized();
        var now = clock.GetUtcNow().UtcDateTime;
        var current = CurrentHash(http, hasher);
        var sessions = await db.Sessions
            .Where(s => s.UserId == user.Id && s.Type != SessionType.Pat && s.Expires > now)
            .GroupJoin(db.Fingerprints, s => s.FingerprintId, f => f.Id, (s, fs) => new { s, fs })
            .SelectMany(x => x.fs.DefaultIfEmpty(), (x, f) => new { x.s.SessionToken, x.s.Expires, x.s.FingerprintId, x.s.Type, FingerprintCreated = (DateTime?)f!.CreatedAt })
            .ToListAsync(ct);
        return Results.Json(new
        {
            activeSessions = sessions.Select(s => new
            {
                id = s.SessionToken, label = "••••" + s.SessionToken[^4..], expires = s.Expires, isCurrent = s.SessionToken == current,
                fingerprintId = s.FingerprintId, createdAt = s.FingerprintCreated, sessionType = s.Type == SessionType.Cli ? "cli" : "web",
            }),
        });
    }

    static async Task<IResult> LogoutAll(HttpContext http, AppDbContext db, TokenHasher hasher, IOptions<CodebuffOptions> options, CancellationToken ct)
    {
        if (await RequestUser.FindAsync(http, db, hasher, null, ct) is not { } user) return Unauthorized();
        var origin = http.Request.Headers.Origin.ToString() is { Length: > 0 } o ? o : http.Request.Headers.Referer.ToString();
        if (!SameOrigin(origin, options.Value.AppUrl) && !SameOrigin(origin, $"{http.Request.Scheme}://{http.Request.Host}"))
            return Results.Json(new { error = "Forbidden - not same origin, cannot logout all sessions" }, statusCode: 403);
        var current = CurrentHash(http, hasher);
        await db.Sessions.Where(s => s.UserId == user.Id && s.Type == SessionType.Web && s.SessionToken != current).ExecuteDeleteAsync(ct);
        return Results.Json(new { ok = true });
    }

    static string? CurrentHash(HttpContext http, TokenHasher hasher) =>
        (WebSession.GetToken(http.Request) ?? ApiKeyAuth.GetToken(http.Request)) is { } t ? hasher.Hash(t) : null;

    static bool SameOrigin(string url, string appUrl) =>
        Uri.TryCreate(url, UriKind.Absolute, out var a) && Uri.TryCreate(appUrl, UriKind.Absolute, out var b)
        && a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

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
