using Microsoft.OpenApi;

namespace Codebuff.Server.Http;

/// <summary><c>{"success":true}</c>.</summary>
public sealed record Succeeded(bool Success);

/// <summary>
/// What a route takes and answers, for the OpenAPI document at /openapi/v1.json. Error answers name the wire shapes
/// of <see cref="Errors"/>; a caller group adds its own 401 (<see cref="Auth.CallerGroups"/>).
/// </summary>
public static class ApiDocs
{
    /// <summary>
    /// A JSON request body. Documented by an operation transformer, not <c>Accepts&lt;T&gt;</c>: that metadata would make
    /// routing refuse other Content-Types with 415, and the SDK posts its JSON as text/plain (see <see cref="RequestJson"/>).
    /// </summary>
    public static RouteHandlerBuilder Takes<T>(this RouteHandlerBuilder route) where T : notnull =>
        route.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        {
            IOpenApiSchema schema = await context.GetOrCreateSchemaAsync(typeof(T), null, ct);
            if (context.Document is { } document)
            {
                document.AddComponent(typeof(T).Name, schema);
                schema = new OpenApiSchemaReference(typeof(T).Name, document);
            }
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true, Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });

    public static RouteHandlerBuilder Answers<T>(this RouteHandlerBuilder route, int status = StatusCodes.Status200OK) =>
        route.Produces<T>(status, "application/json");

    /// <summary><c>{"error"}</c> answers with these statuses.</summary>
    public static RouteHandlerBuilder Refuses(this RouteHandlerBuilder route, params int[] statuses) => route.RefusesWith<ErrorBody>(statuses);

    public static RouteHandlerBuilder RefusesWith<TBody>(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (var status in statuses) route.Produces<TBody>(status, "application/json");
        return route;
    }

    /// <summary>A server-rendered page (or a redirect to one): not part of the JSON API.</summary>
    public static RouteHandlerBuilder Page(this RouteHandlerBuilder route) =>
        route.Produces(StatusCodes.Status200OK, contentType: "text/html").Produces(StatusCodes.Status302Found);
}
