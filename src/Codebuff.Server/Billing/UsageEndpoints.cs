using System.Text.Json.Nodes;
using Codebuff.Contracts;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Orgs;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Billing;

/// <summary>The CLI's usage banner (api.md §4.5) and the dashboard's usage object (§5.3).</summary>
public static class UsageEndpoints
{
    public static void MapUsage(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/usage", PostUsage);
        app.MapGet("/api/user/usage", GetUserUsage);
    }

    static async Task<IResult> PostUsage(HttpContext http, AppDbContext db, TokenHasher hasher, CreditLedger ledger, OrgBilling orgBilling, CancellationToken ct)
    {
        var (ok, node) = await RequestJson.TryReadAsync(http.Request, ct);
        if (!ok) return Results.Json(new { message = "Invalid JSON in request body" }, statusCode: 400);
        // Valid JSON that is not an object (null, an array, a number) fails the schema, as zod reports it.
        if (node is not JsonObject body)
            return Results.Json(new JsonObject
            {
                ["message"] = "Invalid request body",
                ["issues"] = new JsonArray(new JsonObject
                {
                    ["code"] = "invalid_type", ["expected"] = "object", ["received"] = ZodType(node), ["path"] = new JsonArray(),
                    ["message"] = $"Expected object, received {ZodType(node)}",
                }),
            }, statusCode: 400);
        var issues = new JsonArray();
        var fingerprintId = Str(body, "fingerprintId", required: true, issues);
        var authToken = Str(body, "authToken", required: false, issues);
        var orgId = Str(body, "orgId", required: false, issues);
        if (issues.Count > 0) return Results.Json(new JsonObject { ["message"] = "Invalid request body", ["issues"] = issues }, statusCode: 400);

        var token = ApiKeyAuth.GetToken(http.Request) ?? (string.IsNullOrEmpty(authToken) ? null : authToken);
        if (token is null) return Results.Json(new { message = "Authentication required" }, statusCode: 401);
        var user = await ApiKeyAuth.FindUserAsync(db, hasher, token, ct);
        if (user is null)
            return Results.Json(new { message = "Invalid auth token. You may have been logged out from the web portal. Please log in again." }, statusCode: 401);

        // With an org the caller belongs to, the org's figures; otherwise (not a member, unknown org) silently personal.
        if (orgId is not null && await db.OrgMembers.AnyAsync(m => m.OrgId == orgId && m.UserId == user.Id, ct))
        {
            var balance = await ledger.GetBalanceAsync(LedgerOwner.Org(orgId), ct);
            var orgUsage = await orgBilling.UsageThisCycleAsync(await db.Orgs.AsNoTracking().FirstAsync(o => o.Id == orgId, ct), ct);
            return Results.Json(new UsageResponse(orgUsage, balance.NetBalance, new Dictionary<string, int>(), null, null));
        }

        var usage = await ledger.GetUsageAsync(LedgerOwner.User(user.Id), ct);
        return Results.Json(new UsageResponse(usage.UsageThisCycle, usage.Balance.TotalRemaining, usage.Balance.Breakdown, usage.NextQuotaReset, user.AutoTopupEnabled));
    }

    static async Task<IResult> GetUserUsage(HttpContext http, AppDbContext db, TokenHasher hasher, CreditLedger ledger, CancellationToken ct)
    {
        var user = await RequestUser.FindAsync(http, db, hasher, null, ct);
        if (user is null) return Results.Json(new { error = "Unauthorized" }, statusCode: 401);
        var usage = await ledger.GetUsageAsync(LedgerOwner.User(user.Id), ct);
        return Results.Json(new
        {
            usageThisCycle = usage.UsageThisCycle,
            balance = usage.Balance,
            nextQuotaReset = usage.NextQuotaReset,
            // Auto top-up charges cards through Stripe, which this server does not drive yet: it never triggers here.
            autoTopupTriggered = false,
            autoTopupEnabled = user.AutoTopupEnabled,
        });
    }

    /// <summary>Reads an optional or required string field, recording a zod-style issue when it has another type.</summary>
    static string? Str(JsonObject body, string name, bool required, JsonArray issues)
    {
        if (!body.TryGetPropertyValue(name, out var node))
        {
            if (required) issues.Add(Issue(name, "invalid_type", "Required"));
            return null;
        }
        // zod's optional() still refuses an explicit null.
        if (node is not null && node.GetValueKind() == System.Text.Json.JsonValueKind.String) return node.GetValue<string>();
        issues.Add(Issue(name, "invalid_type", $"Expected string, received {ZodType(node)}"));
        return null;
    }

    static string ZodType(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "array",
        _ => node.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => "string",
            System.Text.Json.JsonValueKind.Number => "number",
            System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
            _ => "object",
        },
    };

    static JsonObject Issue(string path, string code, string message) =>
        new() { ["code"] = code, ["path"] = new JsonArray(path), ["message"] = message };
}
