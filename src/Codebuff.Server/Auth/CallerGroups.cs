using Microsoft.AspNetCore.Authorization;

namespace Codebuff.Server.Auth;

/// <summary>A route group's answers to a request without a caller: no credential, or one that names nobody.</summary>
public sealed record Unauthenticated(IResult Missing, IResult Invalid)
{
    public Unauthenticated(IResult both) : this(both, both) { }

    /// <summary>The answer as the OpenAPI document names it: status and JSON body type (text and pages: status and content type).</summary>
    internal ProducesResponseTypeMetadata Documented => Missing switch
    {
        IValueHttpResult { Value: { } body } and IStatusCodeHttpResult { StatusCode: { } status } => new(status, body.GetType(), ["application/json"]),
        IStatusCodeHttpResult { StatusCode: { } status } and IContentTypeHttpResult { ContentType: { } type } => new(status, typeof(string), [type]),
        _ => new(StatusCodes.Status302Found, typeof(void)),
    };

    /// <summary>/api/v1/me and the agent-run routes (api.md §1.3, §2.3).</summary>
    public static readonly Unauthenticated ApiV1 = new(
        Errors.Error(401, "Missing or invalid Authorization header"), Errors.Error(401, "Invalid API key or user not found"));

    /// <summary>The LLM proxy and the SDK's tool routes (api.md §2.5.3, §2.6–2.8).</summary>
    public static readonly Unauthenticated Tools = new(Errors.Message(401, "Unauthorized"), Errors.Message(401, "Invalid Codebuff API key"));

    /// <summary>The CLI's usage banner (api.md §4.5).</summary>
    public static readonly Unauthenticated CliUsage = new(Errors.Message(401, "Authentication required"),
        Errors.Message(401, "Invalid auth token. You may have been logged out from the web portal. Please log in again."));

    /// <summary>The dashboard's JSON routes (api.md §5).</summary>
    public static readonly Unauthenticated Dashboard = new(Errors.Error(401, "Unauthorized"));

    /// <summary>DELETE /api/sessions answers a bare text 401, as upstream's does.</summary>
    public static readonly Unauthenticated PlainText = new(TypedResults.Text("Unauthorized", "text/plain", statusCode: 401));

    /// <summary>Server-rendered pages send the browser to sign in.</summary>
    public static readonly Unauthenticated SignIn = new(TypedResults.Redirect("/login"));
}

/// <summary>
/// Who may call a route group, attached once per group (as davidfowl/TodoApi does):
/// <code>
/// var keys = app.MapGroup("/api/user/api-keys").RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard);
/// keys.MapGet("", List);   // static Task&lt;IResult&gt; List(Caller caller, …) — caller.Required is the user
/// </code>
/// <c>RequireCaller</c> answers the group's 401 before the handler runs. <c>IdentifyCaller</c> resolves the caller
/// but lets the handler answer <see cref="Caller.Unauthorized"/> itself, for routes whose wire order validates the
/// body first (api.md §2.5.3) or that also serve anonymous callers.
/// </summary>
public static class CallerGroups
{
    /// <summary>Endpoint metadata: the legacy body <c>authToken</c> counts when no header token came.</summary>
    public sealed class BodyAuthToken;

    /// <summary>
    /// Endpoint metadata: the caller may come from the <see cref="CallerCache"/> (a few seconds old at most, dropped on
    /// every instance when the user or its sessions change). Only for hot routes that do not change the user
    /// themselves, so no route needs to read its own writes through it.
    /// </summary>
    public sealed class CachedCaller;

    static readonly Unauthenticated Fallback = Unauthenticated.Dashboard;

    public static TBuilder RequireCaller<TBuilder>(this TBuilder group, string scheme, Unauthenticated answers) where TBuilder : IEndpointConventionBuilder =>
        group.RequireAuthorization(new AuthorizationPolicyBuilder(scheme).RequireAuthenticatedUser().Build()).WhenUnauthenticated(answers);

    public static TBuilder IdentifyCaller<TBuilder>(this TBuilder group, string scheme, Unauthenticated answers) where TBuilder : IEndpointConventionBuilder =>
        group.RequireAuthorization(new AuthorizationPolicyBuilder(scheme).RequireAssertion(_ => true).Build()).WhenUnauthenticated(answers);

    /// <summary>The 401 answers of these routes (a route's own wins over its group's), documented for OpenAPI.</summary>
    public static TBuilder WhenUnauthenticated<TBuilder>(this TBuilder builder, Unauthenticated answers) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(answers, answers.Documented);

    public static TBuilder AcceptBodyAuthToken<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyAuthToken());

    public static TBuilder CacheCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new CachedCaller());

    /// <summary>The answers of the endpoint's group; a route's own <c>WithMetadata(Unauthenticated…)</c> wins.</summary>
    internal static Unauthenticated AnswersFor(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<Unauthenticated>() ?? Fallback;
}
