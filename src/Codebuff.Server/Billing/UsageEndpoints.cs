using Codebuff.Contracts;
using Codebuff.Server.Orgs;
using Codebuff.Server.Payments;

namespace Codebuff.Server.Billing;

/// <summary>The CLI's usage banner (api.md §4.5) and the dashboard's usage object (§5.3).</summary>
public static class UsageEndpoints
{
    public static void MapUsage(this IEndpointRouteBuilder app)
    {
        // The CLI's banner validates its body before it looks at the token (upstream's order).
        app.MapPost("/api/v1/usage", PostUsage).IdentifyCaller(CallerAuthentication.ApiKey, Unauthenticated.CliUsage).AcceptBodyAuthToken()
            .Takes<UsageRequest>().Answers<UsageResponse>().RefusesWith<IssuesBody>(400);
        app.MapGet("/api/user/usage", GetUserUsage).RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).Answers<UserUsage>();
        app.MapGet("/api/user/usage/daily", GetDaily).RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard)
            .Answers<UsageQueries.Daily>().Refuses(400);
    }

    /// <summary>Credits per day over the last ?days (1–366, default 30) UTC days, today included.</summary>
    static async Task<Results<Ok<UsageQueries.Daily>, ErrorResult>> GetDaily(Caller caller, int? days, [FromKeyedServices(AppDbContext.ReadOnly)] AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (days is < 1 or > 366) return Errors.Error(400, "days must be an integer from 1 to 366");
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        return TypedResults.Ok(new UsageQueries.Daily(await UsageQueries.CreditsPerDayAsync(db, caller.Required.Id, today, days ?? 30, ct)));
    }

    public sealed record UsageRequest(string FingerprintId, string? AuthToken, string? OrgId);
    /// <summary>A schema failure as zod reports it (a body that is not JSON at all: <c>{"message"}</c> alone).</summary>
    public sealed record IssuesBody(string Message, IEnumerable<Issue> Issues);
    /// <summary>expected and received only where zod names them (a body that is not an object).</summary>
    public sealed record Issue(string Code,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Expected,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Received,
        string[] Path, string Message);
    public sealed record UserUsage(int UsageThisCycle, CreditBalance Balance, DateTime? NextQuotaReset, bool AutoTopupTriggered, bool AutoTopupEnabled);

    static async Task<Results<Ok<UsageResponse>, JsonHttpResult<IssuesBody>, MessageResult>> PostUsage(HttpRequest request, Caller caller, AppDbContext db, CreditLedger ledger, OrgBilling orgBilling, AutoTopUp autoTopUp,
        CancellationToken ct)
    {
        var (ok, node) = await RequestJson.TryReadAsync(request, ct);
        if (!ok) return Errors.InvalidJsonMessage();
        // Valid JSON that is not an object (null, an array, a number) fails the schema, as zod reports it.
        if (node is not JsonObject body)
            return Invalid(new Issue("invalid_type", "object", JsonKind.Of(node), [], $"Expected object, received {JsonKind.Of(node)}"));
        var issues = new List<Issue>();
        var fingerprintId = Str(body, "fingerprintId", required: true, issues);
        Str(body, "authToken", required: false, issues);
        var orgId = Str(body, "orgId", required: false, issues);
        if (issues.Count > 0) return Invalid([.. issues]);

        if (caller.User is not { } user) return caller.Unauthorized<MessageResult>();

        // With an org the caller belongs to, the org's figures; otherwise (not a member, unknown org) silently personal.
        // Like every usage read (api.md §7.8, §7.9), auto top-up is evaluated first so the balance shown includes it.
        if (orgId is not null && await db.OrgMembers.AnyAsync(m => m.OrgId == orgId && m.UserId == user.Id, ct))
        {
            await autoTopUp.RunAsync(LedgerOwner.Org(orgId), ct);
            var balance = await ledger.GetBalanceAsync(LedgerOwner.Org(orgId), ct);
            var orgUsage = await orgBilling.UsageThisCycleAsync(await db.Orgs.AsNoTracking().FirstAsync(o => o.Id == orgId, ct), ct);
            return TypedResults.Ok(new UsageResponse(orgUsage, balance.NetBalance, new Dictionary<string, int>(), null, null));
        }

        await autoTopUp.RunAsync(LedgerOwner.User(user.Id), ct);
        var usage = await ledger.GetUsageAsync(LedgerOwner.User(user.Id), ct);
        // Read again: the evaluation may just have switched auto top-up off (a declined card).
        var enabled = await db.Users.Where(u => u.Id == user.Id).Select(u => u.AutoTopupEnabled).FirstAsync(ct);
        var canBuy = request.HttpContext.RequestServices.GetRequiredService<StripePayments>().Configured;
        return TypedResults.Ok(new UsageResponse(usage.UsageThisCycle, usage.Balance.TotalRemaining, usage.Balance.Breakdown, usage.NextQuotaReset, enabled, canBuy));
    }

    static async Task<Ok<UserUsage>> GetUserUsage(Caller caller, CreditLedger ledger, AutoTopUp autoTopUp, CancellationToken ct)
    {
        var user = caller.Required;
        // Usage reads evaluate auto top-up first (api.md §7.8), so the balance shown includes a top-up it triggered.
        var triggered = await autoTopUp.RunAsync(LedgerOwner.User(user.Id), ct);
        var usage = await ledger.GetUsageAsync(LedgerOwner.User(user.Id), ct);
        return TypedResults.Ok(new UserUsage(usage.UsageThisCycle, usage.Balance, usage.NextQuotaReset, AutoTopupTriggered: triggered, triggered || user.AutoTopupEnabled));
    }

    /// <summary>Reads an optional or required string field, recording a zod-style issue when it has another type.</summary>
    static string? Str(JsonObject body, string name, bool required, List<Issue> issues)
    {
        if (!body.TryGetPropertyValue(name, out var node))
        {
            if (required) issues.Add(IssueJson(name, "invalid_type", "Required"));
            return null;
        }
        // zod's optional() still refuses an explicit null.
        if (node is not null && node.GetValueKind() == JsonValueKind.String) return node.GetValue<string>();
        issues.Add(IssueJson(name, "invalid_type", $"Expected string, received {JsonKind.Of(node)}"));
        return null;
    }

    static Issue IssueJson(string path, string code, string message) => new(code, null, null, [path], message);

    static JsonHttpResult<IssuesBody> Invalid(params Issue[] issues) => TypedResults.Json(new IssuesBody("Invalid request body", issues), statusCode: 400);
}
