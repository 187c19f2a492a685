using Codebuff.Server.Auth;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Http;

/// <summary>/openapi/v1.json names every route the app maps, with its request and response types.</summary>
public sealed class OpenApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    // POST routes that take no body at all.
    static readonly HashSet<string> Bodiless = ["POST /api/user/sessions/logout-all", "POST /api/invites/{token}", "POST /api/orgs/{orgId}/invitations/{email}/resend",
        "POST /api/orgs/{orgId}/alerts/{alertId}/dismiss"];

    [Fact]
    public async Task Every_mapped_route_is_documented_with_its_types_and_error_bodies()
    {
        var document = (await server.Client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject();
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count > 40, $"only {endpoints.Count} endpoints found");

        var problems = new List<string>();
        foreach (var endpoint in endpoints)
        {
            // A catch-all parameter ("{**id}") is a plain one in the document.
            var path = "/" + endpoint.RoutePattern.RawText!.Trim('/').Replace("{**", "{");
            if (path.StartsWith("/openapi/") || IsDashboard(endpoint)) continue;
            var produces = endpoint.Metadata.OfType<IProducesResponseTypeMetadata>().ToList();
            var page = produces.Any(p => p.ContentTypes.Contains("text/html"));
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            {
                var route = $"{method} {path}";
                if (paths[path]?[method.ToLowerInvariant()] is not JsonObject operation)
                {
                    problems.Add($"{route}: not in the document");
                    continue;
                }
                var responses = operation["responses"]?.AsObject() ?? [];
                if (endpoint.Metadata.GetMetadata<Unauthenticated>() is { } answers
                    && !responses.ContainsKey(((answers.Missing as IStatusCodeHttpResult)?.StatusCode ?? 302).ToString()))
                    problems.Add($"{route}: its caller group's refusal is not documented");
                if (page) continue;
                foreach (var (status, response) in responses)
                    if (status != "302" && response?["content"]?["application/json"]?["schema"]?.ToJsonString().Contains("$ref") != true
                        && response?["content"]?["text/plain"] is null && response?["content"]?["text/csv"] is null)
                        problems.Add($"{route}: answer {status} names no JSON type");
                if (!responses.Any(r => r.Key.StartsWith('2')))
                    problems.Add($"{route}: no success answer");
                if (method is "POST" or "PUT" or "PATCH" && !Bodiless.Contains(route)
                    && operation["requestBody"]?["content"]?["application/json"]?["schema"]?.ToJsonString().Contains("$ref") != true)
                    problems.Add($"{route}: request body type not named");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The dashboard's Razor pages, Blazor's own routes and static files: HTML and assets, not the JSON API.</summary>
    static bool IsDashboard(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Components.Endpoints.ComponentTypeMetadata>() is not null
        || endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.StaticAssets.StaticAssetDescriptor>() is not null
        || endpoint.RoutePattern.RawText!.TrimStart('/') is var raw && (raw.StartsWith("_framework/") || raw == "{**path:file}");

    /// <summary>
    /// A sample of routes across the features, called for real: each answer's properties are exactly those of the
    /// type the document names for its status, so a handler whose body drifts from its documented type fails here.
    /// <c>absent</c> lists properties the type leaves out when null (JsonIgnore WhenWritingNull) that the call leaves null.
    /// </summary>
    [Fact]
    public async Task Documented_answer_types_have_the_properties_real_calls_answer()
    {
        var document = (await server.Client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var problems = new List<string>();
        var checkedRoutes = new HashSet<string>();

        async Task<JsonNode?> Check(string method, string path, string route, object? body, int status, params string[] absent)
        {
            var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (body is not null) request.Content = JsonContent.Create(body);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var label = $"{method} {route} ({status})";
            if ((int)response.StatusCode != status)
            {
                problems.Add($"{label}: answered {(int)response.StatusCode} {text}");
                return null;
            }
            var answer = JsonNode.Parse(text);
            var schema = Resolve(document, document["paths"]?[route]?[method.ToLowerInvariant()]?["responses"]?[status.ToString()]?["content"]?["application/json"]?["schema"]);
            if (answer is JsonArray array)
            {
                answer = array.FirstOrDefault();
                schema = Resolve(document, schema?["items"]);
            }
            var documented = schema?["properties"]?.AsObject().Select(p => p.Key).Order().ToList();
            var actual = (answer as JsonObject)?.Select(p => p.Key).Concat(absent).Order().ToList();
            if (documented is null || actual is null) problems.Add($"{label}: documented {schema?.ToJsonString() ?? "nothing"}, answered {text}");
            else if (!documented.SequenceEqual(actual))
                problems.Add($"{label}: documented [{string.Join(", ", documented)}], answered [{string.Join(", ", actual)}]");
            checkedRoutes.Add(route);
            return JsonNode.Parse(text);
        }

        // Orgs.
        var org = (await Check("POST", "/api/orgs", "/api/orgs", new { name = $"Docs {Guid.NewGuid():N}"[..20] }, 201))!;
        var (orgId, slug) = ((string)org["id"]!, (string)org["slug"]!);
        await Check("GET", "/api/orgs", "/api/orgs", null, 200);
        await Check("GET", $"/api/orgs/slug/{slug}", "/api/orgs/slug/{slug}", null, 200);
        await Check("GET", $"/api/orgs/{orgId}", "/api/orgs/{orgId}", null, 200, "owner_id", "created_at");
        await Check("GET", $"/api/orgs/{orgId}/settings", "/api/orgs/{orgId}/settings", null, 200);
        await Check("GET", $"/api/orgs/{orgId}/members", "/api/orgs/{orgId}/members", null, 200);
        await Check("GET", $"/api/orgs/{orgId}/usage", "/api/orgs/{orgId}/usage", null, 200);
        await Check("GET", "/api/orgs/slug/no-such-org", "/api/orgs/slug/{slug}", null, 404);
        await Check("POST", $"/api/orgs/{orgId}/repos", "/api/orgs/{orgId}/repos", new { repository_url = "https://github.com/docs/check" }, 201);

        // Publishers and agents.
        var publisherId = $"docs-{Guid.NewGuid():N}"[..20];
        await Check("POST", "/api/publishers", "/api/publishers", new { id = publisherId, name = "Docs", org_id = orgId }, 201);
        await Check("GET", $"/api/publishers/{publisherId}", "/api/publishers/{id}", null, 200);
        await Check("GET", "/api/publishers", "/api/publishers", null, 200);
        await Check("GET", "/api/publishers/validate?id=x", "/api/publishers/validate", null, 200);
        await Check("POST", "/api/publishers", "/api/publishers", new { id = "x", name = "Docs" }, 400);
        await Check("POST", "/api/agents/validate", "/api/agents/validate", new { agentDefinitions = Array.Empty<object>() }, 200);
        await Check("POST", "/api/agents/publish", "/api/agents/publish", new { data = "not a list" }, 400, "hint");

        // Payments.
        await Check("GET", "/api/user/auto-topup", "/api/user/auto-topup", null, 200);
        await Check("POST", "/api/user/auto-topup", "/api/user/auto-topup", new { enabled = false, threshold = (int?)null, amount = (int?)null }, 200);
        await Check("POST", "/api/user/auto-topup", "/api/user/auto-topup", new { enabled = "yes" }, 400);

        // Usage and referrals.
        await Check("POST", "/api/v1/usage", "/api/v1/usage", new { fingerprintId = "docs-check" }, 200);
        await Check("POST", "/api/v1/usage", "/api/v1/usage", new { }, 400);
        await Check("GET", "/api/user/usage", "/api/user/usage", null, 200);
        await Check("GET", "/api/user/usage/daily", "/api/user/usage/daily", null, 200);
        await Check("GET", "/api/referrals", "/api/referrals", null, 200, "referredBy");

        // Chat's errors (this fixture's provider serves every model, so no 404) and the models.
        await Check("POST", "/api/v1/chat/completions", "/api/v1/chat/completions", new { messages = Array.Empty<object>() }, 400);
        await Check("POST", "/api/v1/chat/completions", "/api/v1/chat/completions",
            new { model = "openai/gpt-4o", messages = Array.Empty<object>(), codebuff_metadata = new { run_id = "no-such-run" } }, 400);
        await Check("GET", "/api/v1/models", "/api/v1/models", null, 200);
        await Check("GET", "/api/v1/models/openai%2Fgpt-4o", "/api/v1/models/{id}", null, 200);

        // Auth: API keys, sessions, profile.
        await Check("POST", "/api/api-keys", "/api/api-keys", new { name = "docs" }, 201);
        await Check("POST", "/api/api-keys", "/api/api-keys", new { name = 5 }, 400);
        await Check("GET", "/api/api-keys", "/api/api-keys", null, 200);
        await Check("GET", "/api/user/sessions", "/api/user/sessions", null, 200);
        await Check("GET", "/api/user/profile", "/api/user/profile", null, 200);

        // Agent runs.
        await Check("POST", "/api/v1/agent-runs", "/api/v1/agent-runs", new { action = "START", agentId = "docs-check" }, 200, "success");

        // A suspended account (a fresh one: the chat route caches callers): chat's coded refusal.
        var banned = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == banned.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true));
        client = server.ClientFor(banned);
        await Check("POST", "/api/v1/chat/completions", "/api/v1/chat/completions", new { model = "openai/gpt-4o", messages = Array.Empty<object>() }, 403);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(checkedRoutes.Count >= 8, $"only {checkedRoutes.Count} routes checked");
    }

    /// <summary>A schema with its $ref followed (a nullable one is a oneOf/anyOf of null and the reference).</summary>
    static JsonNode? Resolve(JsonObject document, JsonNode? schema)
    {
        for (var i = 0; i < 4 && schema is not null; i++)
        {
            if (schema["$ref"] is { } reference)
                schema = document["components"]?["schemas"]?[((string)reference!).Split('/')[^1]];
            else if ((schema["oneOf"] ?? schema["anyOf"] ?? schema["allOf"]) is JsonArray options
                     && options.FirstOrDefault(o => o?["$ref"] is not null || o?["properties"] is not null) is { } option)
                schema = option;
            else break;
        }
        return schema;
    }

    [Fact]
    public async Task Error_bodies_are_named_with_their_wire_fields()
    {
        var schemas = (await server.Client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!["components"]!["schemas"]!;
        Assert.Equal(["error"], schemas["ErrorBody"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["message"], schemas["MessageBody"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["error", "details"], schemas["ErrorDetailsBody"]!["properties"]!.AsObject().Select(p => p.Key));
    }
}
