namespace Codebuff.Server.Auth;

/// <summary>
/// Who is calling, resolved once per request by <see cref="CallerAuthentication"/> for every route in a caller group
/// (<see cref="CallerGroups"/>). Handlers take it as a parameter; in a <c>RequireCaller</c> group <see cref="User"/> is
/// always set, in an <c>IdentifyCaller</c> group the handler decides when to answer <see cref="Unauthorized"/>.
/// </summary>
public sealed class Caller
{
    readonly Unauthenticated _answers;

    internal Caller(User? user, CredentialSource source, string? token, string? sessionId, Unauthenticated answers)
    {
        User = user;
        Source = user is null ? CredentialSource.None : source;
        Token = token;
        SessionId = sessionId;
        _answers = answers;
    }

    /// <summary>The signed-in user (read without tracking), or null when the request named nobody.</summary>
    public User? User { get; }

    /// <summary>The user, for routes whose group requires one.</summary>
    public User Required => User ?? throw new InvalidOperationException("this route's group does not require a caller");

    /// <summary>Which credential identified <see cref="User"/> (None when nobody).</summary>
    public CredentialSource Source { get; }

    /// <summary>The raw credential presented (header, else body token; the cookie's when only it was sent), whether or not it named a user.</summary>
    public string? Token { get; }

    /// <summary>The stored id (hash) of the session or token that identified the user: "this session".</summary>
    public string? SessionId { get; }

    /// <summary>This route group's 401 answer: the one for no credential, or the one for a credential that names nobody.</summary>
    public IResult Unauthorized() => Token is null ? _answers.Missing : _answers.Invalid;

    /// <summary>The same answer as the group's typed result (<see cref="ErrorResult"/> for Dashboard and ApiV1, <see cref="MessageResult"/> for Tools and CliUsage).</summary>
    public TResult Unauthorized<TResult>() where TResult : IResult => (TResult)Unauthorized();

    /// <summary>The caller of a request whose route sits in a caller group.</summary>
    public static Caller Of(HttpContext http) => http.Features.Get<Caller>()
        ?? throw new InvalidOperationException($"{http.Request.Path} is not in a caller group (CallerGroups.RequireCaller/IdentifyCaller)");

    /// <summary>Minimal API parameter binding.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext http) => ValueTask.FromResult<Caller?>(Of(http));
}
