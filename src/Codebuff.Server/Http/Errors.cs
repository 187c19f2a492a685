using Microsoft.AspNetCore.Http.HttpResults;

namespace Codebuff.Server.Http;

/// <summary><c>{"error":"…"}</c>: the dashboard's and most of api.md's error body.</summary>
public sealed record ErrorBody(string Error);

/// <summary><c>{"message":"…"}</c>: the LLM and CLI routes' error body (api.md §2.5.3, §4.5).</summary>
public sealed record MessageBody(string Message);

/// <summary><c>{"error":"…","details":…}</c>: details is a sentence or a zod "format" tree (api.md §0.3).</summary>
public sealed record ErrorDetailsBody(string Error, JsonNode? Details);

/// <summary><c>{"error":"code","message":"…"}</c>: a machine-readable code and a sentence (api.md §2.5.3: suspended, free mode, rate limit).</summary>
public sealed record CodedErrorBody(string Error, string Message);

/// <summary>
/// The one place error answers are built, one method per wire shape. Codebuff's wire format where it has one;
/// ProblemDetails for routes of our own that have none.
/// </summary>
public static class Errors
{
    public const string InvalidJsonText = "Invalid JSON in request body";

    public static JsonHttpResult<ErrorBody> Error(int status, string error) => TypedResults.Json(new ErrorBody(error), statusCode: status);

    public static JsonHttpResult<MessageBody> Message(int status, string message) => TypedResults.Json(new MessageBody(message), statusCode: status);

    public static JsonHttpResult<ErrorDetailsBody> Details(int status, string error, JsonNode? details) =>
        TypedResults.Json(new ErrorDetailsBody(error, details), statusCode: status);

    public static JsonHttpResult<CodedErrorBody> Coded(int status, string error, string message) =>
        TypedResults.Json(new CodedErrorBody(error, message), statusCode: status);

    public static ProblemHttpResult Problem(int status, string title, string? detail = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    /// <summary>[our choice] a body that is not JSON is a 400, never a 500 that clients would retry.</summary>
    public static JsonHttpResult<ErrorBody> InvalidJson() => Error(400, InvalidJsonText);

    /// <summary>The same refusal in the <c>{"message"}</c> shape of the LLM and CLI routes.</summary>
    public static JsonHttpResult<MessageBody> InvalidJsonMessage() => Message(400, InvalidJsonText);

    public static JsonHttpResult<ErrorBody> InternalError() => Error(500, "Internal server error");
}
