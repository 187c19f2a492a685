using System.Text.Json.Nodes;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Chat;

/// <summary>
/// [our choice] JSON routes for a user's stored provider keys (table encrypted_api_keys; types anthropic, gemini,
/// openai). Keys go in once and only ever come back masked. Authenticated by API key or the web session cookie.
/// </summary>
public static class ByokEndpoints
{
    static readonly string[] Types = ["anthropic", "gemini", "openai"];

    public static void MapByokKeys(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/user/api-keys").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        keys.MapGet("", List);
        keys.MapGet("/{type}", Get);
        keys.MapPut("/{type}", Put);
        keys.MapDelete("/{type}", Delete);
    }

    static async Task<IResult> List(Caller caller, AppDbContext db, ByokCipher cipher, CancellationToken ct)
    {
        var user = caller.Required;
        var rows = await db.EncryptedApiKeys.AsNoTracking().Where(k => k.UserId == user.Id).OrderBy(k => k.Type).ToListAsync(ct);
        return Results.Json(new { keys = rows.Select(r => View(r, cipher)).Where(v => v is not null) });
    }

    static async Task<IResult> Get(string type, Caller caller, AppDbContext db, ByokCipher cipher, CancellationToken ct)
    {
        var user = caller.Required;
        if (ParseType(type) is not { } t) return UnknownType(type);
        var row = await db.EncryptedApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.UserId == user.Id && k.Type == t, ct);
        return row is not null && View(row, cipher) is { } view ? Results.Json(view) : NotStored(type);
    }

    static async Task<IResult> Put(string type, HttpRequest request, Caller caller, AppDbContext db, ByokCipher cipher, CancellationToken ct)
    {
        var user = caller.Required;
        if (ParseType(type) is not { } t) return UnknownType(type);
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJson();
        var errors = new BodyErrors();
        var key = errors.String(body, "apiKey", required: true, minLength: 1)?.Trim();
        if (key is not null && (key.Length is < 8 or > 1000 || key.Any(char.IsWhiteSpace)))
            errors.Add("API key must be 8 to 1000 characters without spaces", "apiKey");
        if (errors.Any) return errors.ToResult();

        // Upsert in one statement: concurrent PUTs of the same type leave exactly one row.
        var encrypted = cipher.Encrypt(key!);
        var label = Types[(int)t];
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO encrypted_api_keys (user_id, type, api_key) VALUES ({user.Id}, {label}::api_key_type, {encrypted})
            ON CONFLICT (user_id, type) DO UPDATE SET api_key = EXCLUDED.api_key
            """, ct);
        return Results.Json(new { type = label, maskedKey = ByokCipher.Mask(key!) });
    }

    static async Task<IResult> Delete(string type, Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        if (ParseType(type) is not { } t) return UnknownType(type);
        var deleted = await db.EncryptedApiKeys.Where(k => k.UserId == user.Id && k.Type == t).ExecuteDeleteAsync(ct);
        return deleted == 0 ? NotStored(type) : Results.Json(new { deleted = true });
    }

    static object? View(EncryptedApiKey row, ByokCipher cipher) =>
        cipher.Decrypt(row.ApiKey) is { } key ? new { type = Types[(int)row.Type], maskedKey = ByokCipher.Mask(key) } : null;

    static ApiKeyType? ParseType(string type) => Array.IndexOf(Types, type) is var i and >= 0 ? (ApiKeyType)i : null;

    static IResult UnknownType(string type) => Errors.Error(400, $"Unknown key type '{type}'. Valid types are: {string.Join(", ", Types)}");

    static IResult NotStored(string type) => Errors.Error(404, $"No {type} key is stored");
}
