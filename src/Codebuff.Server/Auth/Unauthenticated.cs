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
