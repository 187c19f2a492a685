using Codebuff.Server.Auth;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Codebuff.Server.Tests.Hosting;

/// <summary>/openapi/v1.json names every route the app maps, with its request and response types.</summary>
public sealed class OpenApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    // POST routes that take no body at all.
    static readonly HashSet<string> Bodiless = ["POST /api/user/sessions/logout-all", "POST /api/invites/{token}", "POST /api/orgs/{orgId}/invitations/{email}/resend"];

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

    [Fact]
    public async Task Error_bodies_are_named_with_their_wire_fields()
    {
        var schemas = (await server.Client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!["components"]!["schemas"]!;
        Assert.Equal(["error"], schemas["ErrorBody"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["message"], schemas["MessageBody"]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["error", "details"], schemas["ErrorDetailsBody"]!["properties"]!.AsObject().Select(p => p.Key));
    }
}
