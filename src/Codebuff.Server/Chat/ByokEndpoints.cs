namespace Codebuff.Server.Chat;

/// <summary>
/// [our choice] JSON routes for a user's stored provider keys (table encrypted_api_keys; types anthropic, gemini,
/// openai). Keys go in once and only ever come back masked. Authenticated by API key or the web session cookie.
/// </summary>
public static class ByokEndpoints
{
    /// <summary>The key types, in <see cref="ApiKeyType"/>'s order (a provider's KeyType names one of them).</summary>
    public static readonly string[] Types = ["anthropic", "gemini", "openai"];

    public static void MapByokKeys(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/user/api-keys").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        keys.MapGet("", List);
        keys.MapGet("/{type}", Get).Refuses(400, 404);
        keys.MapPut("/{type}", Put).Takes<StoreKeyRequest>().Refuses(400);
        keys.MapDelete("/{type}", Delete).Refuses(400, 404);
    }

    public sealed record StoredKey(string Type, string MaskedKey);
    public sealed record StoredKeys(IEnumerable<StoredKey> Keys);
    public sealed record StoreKeyRequest(string ApiKey);
    public sealed record KeyDeleted(bool Deleted);

    static async Task<Ok<StoredKeys>> List(Caller caller, AppDbContext db, ByokCipher cipher, CancellationToken ct)
    {
        var user = caller.Required;
        var rows = await db.EncryptedApiKeys.AsNoTracking().Where(k => k.UserId == user.Id).OrderBy(k => k.Type).ToListAsync(ct);
        return TypedResults.Ok(new StoredKeys(rows.Select(r => View(r, cipher)).OfType<StoredKey>()));
    }

    static async Task<Results<Ok<StoredKey>, JsonHttpResult<ErrorBody>>> Get(string type, Caller caller, AppDbContext db, ByokCipher cipher, CancellationToken ct)
    {
        var user = caller.Required;
        if (ParseType(type) is not { } t) return UnknownType(type);
        var row = await db.EncryptedApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.UserId == user.Id && k.Type == t, ct);
        return row is not null && View(row, cipher) is { } view ? TypedResults.Ok(view) : NotStored(type);
    }

    static async Task<Results<Ok<StoredKey>, JsonHttpResult<ErrorBody>, JsonHttpResult<ErrorDetailsBody>>> Put(string type, HttpRequest request, Caller caller,
        AppDbContext db, ByokCipher cipher, CancellationToken ct)
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
        return TypedResults.Ok(new StoredKey(label, ByokCipher.Mask(key!)));
    }

    static async Task<Results<Ok<KeyDeleted>, JsonHttpResult<ErrorBody>>> Delete(string type, Caller caller, AppDbContext db, CancellationToken ct)
    {
        var user = caller.Required;
        if (ParseType(type) is not { } t) return UnknownType(type);
        var deleted = await db.EncryptedApiKeys.Where(k => k.UserId == user.Id && k.Type == t).ExecuteDeleteAsync(ct);
        return deleted == 0 ? NotStored(type) : TypedResults.Ok(new KeyDeleted(true));
    }

    /// <summary>
    /// The user's stored keys of these types, decrypted, by type; a key that no longer decrypts (another master key)
    /// counts as none. Only for the chat proxy, which sends them to the provider of their type and nowhere else.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadKeysAsync(AppDbContext db, ByokCipher cipher, string userId,
        IReadOnlyList<string> types, CancellationToken ct)
    {
        var wanted = types.Select(ParseType).OfType<ApiKeyType>().ToList();
        var rows = await db.EncryptedApiKeys.AsNoTracking().Where(k => k.UserId == userId && wanted.Contains(k.Type)).ToListAsync(ct);
        return rows.Select(r => (Type: Types[(int)r.Type], Key: cipher.Decrypt(r.ApiKey))).Where(k => k.Key is not null).ToDictionary(k => k.Type, k => k.Key!);
    }

    static StoredKey? View(EncryptedApiKey row, ByokCipher cipher) =>
        cipher.Decrypt(row.ApiKey) is { } key ? new StoredKey(Types[(int)row.Type], ByokCipher.Mask(key)) : null;

    static ApiKeyType? ParseType(string type) => Array.IndexOf(Types, type) is var i and >= 0 ? (ApiKeyType)i : null;

    static JsonHttpResult<ErrorBody> UnknownType(string type) => Errors.Error(400, $"Unknown key type '{type}'. Valid types are: {string.Join(", ", Types)}");

    static JsonHttpResult<ErrorBody> NotStored(string type) => Errors.Error(404, $"No {type} key is stored");
}
