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
        api.MapGet("/api-keys", ListTokens).Answers<TokenList>();
        api.MapPost("/api-keys", CreateToken).Takes<CreateTokenRequest>().Answers<CreatedToken>(201).RefusesWith<ErrorDetailsBody>(400).Refuses(429)
            .RequireRateLimiting(AuthRateLimits.Tokens).RequirePerCallerTokenLimit().RefuseSuspended();
        api.MapDelete("/sessions", Revoke).WhenUnauthenticated(Unauthenticated.PlainText)
            .Takes<RevokeRequest>().Answers<Revoked>().RefusesWith<ErrorDetailsBody>(400);
        api.MapGet("/user/sessions", ListSessions).Answers<SessionList>();
        api.MapPost("/user/sessions/logout-all", LogoutAll).Answers<LoggedOut>().Refuses(403);
    }

    public sealed record TokenView(string Id, string Token, DateTime Expires, DateTime? CreatedAt, string Type);
    public sealed record TokenList(IEnumerable<TokenView> Tokens);
    public sealed record CreateTokenRequest(string? Name, int? ExpiresInDays);
    public sealed record CreatedToken(string Token, DateTime Expires, string Message);
    public sealed record RevokeRequest(string[]? SessionIds, string[]? TokenIds);
    public sealed record Revoked(int RevokedSessions, int RevokedTokens);
    public sealed record SessionView(string Id, string Label, DateTime Expires, bool IsCurrent, string? FingerprintId, DateTime? CreatedAt, string SessionType);
    public sealed record SessionList(IEnumerable<SessionView> ActiveSessions);
    public sealed record LoggedOut(bool Ok);

    static async Task<Ok<TokenList>> ListTokens(Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var tokens = await UserSessions.ListTokensAsync(db, caller.Required.Id, clock.GetUtcNow().UtcDateTime, ct);
        // The schema keeps no creation or last-used time for sessions, so createdAt stays null as upstream's does.
        return TypedResults.Ok(new TokenList(tokens.Select(t => new TokenView(t.Id, t.Masked, t.Expires, CreatedAt: null, "pat"))));
    }

    static async Task<Results<Created<CreatedToken>, DetailsResult, ErrorResult>> CreateToken(HttpContext http, Caller caller, AppDbContext db, TokenHasher hasher, TimeProvider clock, CancellationToken ct)
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
        if (body["name"] is { } name && (name.GetValueKind() != JsonValueKind.String || name.GetValue<string>().Length == 0))
            return Errors.Details(400, "Invalid request body", "name must be a non-empty string");
        if (body["expiresInDays"] is { } d)
        {
            if (d.GetValueKind() != JsonValueKind.Number || !d.AsValue().TryGetValue(out days) || days is < 1 or > 365)
                return Errors.Details(400, "Invalid request body", "expiresInDays must be a whole number from 1 to 365");
        }
        var (token, expires) = await UserSessions.CreateTokenAsync(db, hasher, caller.Required.Id, days, clock.GetUtcNow().UtcDateTime, ct);
        return TypedResults.Created((string?)null, new CreatedToken(token, expires, "API Key created successfully"));
    }

    static async Task<Results<Ok<Revoked>, DetailsResult>> Revoke(HttpContext http, Caller caller, AppDbContext db, TokenHasher hasher, CancellationToken ct)
    {
        if (await RequestJson.ReadAsync(http.Request, ct) is not JsonObject body
            || !TryIds(body, "sessionIds", out var sessionIds) || !TryIds(body, "tokenIds", out var tokenIds))
            return Errors.Details(400, "Invalid request body", "sessionIds and tokenIds must be arrays of strings");

        var (revokedSessions, revokedTokens) = await UserSessions.RevokeAsync(db, hasher, caller.Required.Id, sessionIds, tokenIds, ct);
        return TypedResults.Ok(new Revoked(revokedSessions, revokedTokens));
    }

    static async Task<Ok<SessionList>> ListSessions(Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var current = caller.SessionId;
        var sessions = await UserSessions.ListSessionsAsync(db, caller.Required.Id, clock.GetUtcNow().UtcDateTime, ct);
        return TypedResults.Ok(new SessionList(sessions.Select(s => new SessionView(
            s.Id, s.Label, s.Expires, IsCurrent: s.Id == current, s.FingerprintId, CreatedAt: s.FingerprintCreatedAt, s.Type == SessionType.Cli ? "cli" : "web"))));
    }

    static async Task<Results<Ok<LoggedOut>, ErrorResult>> LogoutAll(HttpContext http, Caller caller, AppDbContext db, IOptions<CodebuffOptions> options, CancellationToken ct)
    {
        if (WebSession.IsCrossSite(http, caller, options.Value.AppUrl))
            return Errors.Error(403, "Forbidden - not same origin, cannot logout all sessions");
        await UserSessions.LogOutOtherWebSessionsAsync(db, caller.Required.Id, caller.SessionId, ct);
        return TypedResults.Ok(new LoggedOut(true));
    }

    static bool TryIds(JsonObject body, string name, out List<string> ids)
    {
        ids = [];
        if (body[name] is null) return true;
        if (body[name] is not JsonArray array) return false;
        foreach (var item in array)
        {
            if (item?.GetValueKind() != JsonValueKind.String) return false;
            ids.Add(item.GetValue<string>());
        }
        return true;
    }
}
