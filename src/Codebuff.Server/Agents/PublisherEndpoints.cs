using Codebuff.Server.Orgs;

namespace Codebuff.Server.Agents;

/// <summary>Publisher profiles (api.md §5.4): list mine, create, check an id, read, update.</summary>
public static class PublisherEndpoints
{
    public static void MapPublishers(this IEndpointRouteBuilder app)
    {
        var publishers = app.MapGroup("/api/publishers");
        publishers.MapGet("/validate", ValidateId).Answers<IdCheck>().RefusesWith<IdCheck>(400);
        publishers.MapGet("/{id}", Get).Answers<PublisherView>().Refuses(404);

        var mine = publishers.MapGroup("").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
        mine.MapGet("", ListMine).Answers<IEnumerable<PublisherView>>();
        mine.MapPost("", Create).AcceptBodyAuthToken().Takes<CreateRequest>().Answers<PublisherView>(201).Refuses(400, 403, 404).RefuseSuspended();
        mine.MapPatch("/{id}", Update).AcceptBodyAuthToken().Takes<UpdateRequest>().Answers<PublisherView>().Refuses(400, 403, 404).RefuseSuspended();
    }

    /// <summary>The publisher row as upstream returns it (snake_case columns); organizationName only for an org's publisher.</summary>
    public sealed record PublisherView(
        string Id, string Name, string? Email, bool Verified, string? Bio,
        [property: JsonPropertyName("avatar_url")] string? AvatarUrl,
        [property: JsonPropertyName("user_id")] string? UserId,
        [property: JsonPropertyName("org_id")] string? OrgId,
        [property: JsonPropertyName("created_by")] string CreatedBy,
        [property: JsonPropertyName("created_at")] DateTime CreatedAt,
        [property: JsonPropertyName("updated_at")] DateTime UpdatedAt,
        int AgentCount, string OwnershipType,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? OrganizationName);

    public sealed record CreateRequest(string Id, string Name, string? Email, string? Bio,
        [property: JsonPropertyName("avatar_url")] string? AvatarUrl, [property: JsonPropertyName("org_id")] string? OrgId, string? AuthToken);

    /// <summary>Only the fields present change; a blank optional field clears it.</summary>
    public sealed record UpdateRequest(string? Name, string? Email, string? Bio, [property: JsonPropertyName("avatar_url")] string? AvatarUrl, string? AuthToken);

    public sealed record IdCheck(bool Valid, string? Error);

    static PublisherView View(Publisher p, int agentCount, string? organizationName) => new(
        p.Id, p.Name, p.Email, p.Verified, p.Bio, p.AvatarUrl, p.UserId, p.OrgId, p.CreatedBy, p.CreatedAt, p.UpdatedAt,
        agentCount, PublisherRules.OwnershipType(p), organizationName);

    static Task<int> AgentCountAsync(AppDbContext db, string publisherId, CancellationToken ct) =>
        db.AgentConfigs.Where(a => a.PublisherId == publisherId).Select(a => a.Id).Distinct().CountAsync(ct);

    static async Task<Ok<List<PublisherView>>> ListMine(Caller caller, AppDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await ListMineAsync(db, caller.Required.Id, ct));

    /// <summary>The user's own publishers and those of the orgs they own or administer, oldest first.</summary>
    public static async Task<List<PublisherView>> ListMineAsync(AppDbContext db, string userId, CancellationToken ct)
    {
        var administered = OrgAccess.AdministeredBy(db, userId);
        var rows = await (
            from p in db.Publishers.AsNoTracking()
            where p.UserId == userId || administered.Contains(p.OrgId!)
            orderby p.CreatedAt, p.Id
            select new
            {
                Publisher = p,
                OrgName = db.Orgs.Where(o => o.Id == p.OrgId).Select(o => o.Name).FirstOrDefault(),
                Agents = db.AgentConfigs.Where(a => a.PublisherId == p.Id).Select(a => a.Id).Distinct().Count(),
            }).ToListAsync(ct);
        return rows.Select(r => View(r.Publisher, r.Agents, r.OrgName)).ToList();
    }

    /// <summary>Reads optional string fields (absent or null → null); the first non-string value is an error message.</summary>
    static string? ReadStrings(JsonObject body, string[] names, out Dictionary<string, string?> values)
    {
        values = [];
        foreach (var name in names)
        {
            if (!body.TryGetPropertyValue(name, out var node) || node is null) values[name] = null;
            else if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) values[name] = v.GetValue<string>();
            else return $"{name} must be a string";
        }
        return null;
    }

    /// <summary>The fields of a new publisher as given (not yet checked).</summary>
    public sealed record NewPublisher(string? Id, string? Name, string? Email, string? Bio, string? AvatarUrl, string? OrgId);

    static async Task<Results<Created<PublisherView>, ErrorResult>> Create(HttpRequest request, Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (ok, node) = await RequestJson.TryReadAsync(request, ct);
        if (!ok || node is not JsonObject body) return Errors.Error(400, "Request body must be a JSON object");
        var error = ReadStrings(body, ["id", "name", "email", "bio", "avatar_url", "org_id"], out var f);
        if (error is not null) return Errors.Error(400, error);
        var (view, refusal) = await CreateAsync(db, clock, caller.Required,
            new NewPublisher(f["id"], f["name"], f["email"], f["bio"], f["avatar_url"], f["org_id"]), ct);
        return refusal is not null ? refusal.ToResult() : TypedResults.Created((string?)null, view!);
    }

    /// <summary>
    /// Checks the fields and the org role (owner or admin) and creates the publisher, or says why not (400, 403, 404 and
    /// upstream's message); POST /api/publishers and /publishers/new.
    /// </summary>
    public static async Task<(PublisherView? Publisher, Refusal? Refusal)> CreateAsync(AppDbContext db, TimeProvider clock, User user, NewPublisher f, CancellationToken ct)
    {
        var error = PublisherRules.IdError(f.Id) ?? PublisherRules.NameError(f.Name) ?? PublisherRules.EmailError(f.Email) ?? PublisherRules.AvatarUrlError(f.AvatarUrl);
        if (error is not null) return (null, new(400, error));

        var orgId = PublisherRules.Clean(f.OrgId);
        string? orgName = null;
        if (orgId is not null)
        {
            var role = await OrgAccess.RoleAsync(db, orgId, user.Id, ct);
            if (role is null) return (null, new(404, "Organization not found"));
            if (!OrgAccess.IsAdmin(role.Value)) return (null, new(403, "Insufficient permissions"));
            orgName = await db.Orgs.Where(o => o.Id == orgId).Select(o => o.Name).FirstOrDefaultAsync(ct);
        }

        if (await db.Publishers.AnyAsync(p => p.Id == f.Id, ct)) return (null, new(400, TakenId));
        var now = clock.GetUtcNow().UtcDateTime;
        var publisher = new Publisher
        {
            Id = f.Id!,
            Name = f.Name!.Trim(),
            Email = PublisherRules.Clean(f.Email),
            Bio = PublisherRules.Clean(f.Bio),
            AvatarUrl = PublisherRules.Clean(f.AvatarUrl),
            // Exactly one owner: the org when one is given, else the caller (the check constraint enforces it too).
            UserId = orgId is null ? user.Id : null,
            OrgId = orgId,
            CreatedBy = user.Id,
            Verified = false,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Publishers.Add(publisher);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            db.Publishers.Entry(publisher).State = EntityState.Detached;
            return (null, new(400, TakenId));
        }
        return (View(publisher, 0, orgName), null);
    }

    const string TakenId = "This publisher ID is already taken";

    static async Task<JsonHttpResult<IdCheck>> ValidateId(HttpRequest request, AppDbContext db, CancellationToken ct)
    {
        var id = request.Query["id"].ToString();
        var check = await CheckIdAsync(db, id, ct);
        return TypedResults.Json(check, statusCode: string.IsNullOrEmpty(id) ? 400 : 200);
    }

    /// <summary>Whether a new publisher may take this id: the rules, then whether it is free.</summary>
    public static async Task<IdCheck> CheckIdAsync(AppDbContext db, string? id, CancellationToken ct)
    {
        var error = PublisherRules.IdError(id);
        if (error is null && await db.Publishers.AnyAsync(p => p.Id == id, ct)) error = TakenId;
        return new IdCheck(error is null, error);
    }

    /// <summary>Public profile: the store and /publishers/{id} pages show it to everyone.</summary>
    static async Task<Results<Ok<PublisherView>, ErrorResult>> Get(string id, [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, CancellationToken ct) =>
        await FindAsync(db, id, ct) is { } view ? TypedResults.Ok(view) : Errors.Error(404, "Publisher not found");

    public static async Task<PublisherView?> FindAsync(AppDbContext db, string id, CancellationToken ct)
    {
        var publisher = await db.Publishers.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (publisher is null) return null;
        var orgName = publisher.OrgId is null ? null : await db.Orgs.Where(o => o.Id == publisher.OrgId).Select(o => o.Name).FirstOrDefaultAsync(ct);
        return View(publisher, await AgentCountAsync(db, id, ct), orgName);
    }

    static async Task<Results<Ok<PublisherView>, ErrorResult>> Update(string id, HttpRequest request, Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var user = caller.Required;
        var (ok, node) = await RequestJson.TryReadAsync(request, ct);
        var publisher = await db.Publishers.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (publisher is null) return Errors.Error(404, "Publisher not found");
        if (publisher.UserId != user.Id)
        {
            // Upstream hides publishers from outsiders (404) and tells org members without admin rights (403).
            var role = publisher.OrgId is null ? null : await OrgAccess.RoleAsync(db, publisher.OrgId, user.Id, ct);
            if (role is null) return Errors.Error(404, "Publisher not found");
            if (!OrgAccess.IsAdmin(role.Value)) return Errors.Error(403, "Insufficient permissions");
        }

        if (!ok || node is not JsonObject body) return Errors.Error(400, "Request body must be a JSON object");
        var error = ReadStrings(body, ["name", "email", "bio", "avatar_url"], out var f);
        var (name, email, bio, avatar) = (f.GetValueOrDefault("name"), f.GetValueOrDefault("email"), f.GetValueOrDefault("bio"), f.GetValueOrDefault("avatar_url"));
        if (error is null && body.ContainsKey("name")) error = PublisherRules.NameError(name);
        error ??= PublisherRules.EmailError(email) ?? PublisherRules.AvatarUrlError(avatar);
        if (error is not null) return Errors.Error(400, error);

        if (body.ContainsKey("name")) publisher.Name = name!.Trim();
        if (body.ContainsKey("email")) publisher.Email = PublisherRules.Clean(email);
        if (body.ContainsKey("bio")) publisher.Bio = PublisherRules.Clean(bio);
        if (body.ContainsKey("avatar_url")) publisher.AvatarUrl = PublisherRules.Clean(avatar);
        publisher.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(ct);
        var orgName = publisher.OrgId is null ? null : await db.Orgs.Where(o => o.Id == publisher.OrgId).Select(o => o.Name).FirstOrDefaultAsync(ct);
        return TypedResults.Ok(View(publisher, await AgentCountAsync(db, id, ct), orgName));
    }
}
