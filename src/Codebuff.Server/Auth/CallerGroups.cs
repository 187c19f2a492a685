using Microsoft.AspNetCore.Authorization;

namespace Codebuff.Server.Auth;

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
