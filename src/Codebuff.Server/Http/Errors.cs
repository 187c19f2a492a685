namespace Codebuff.Server.Http;

// The error answers, one record and one builder per wire shape. Which routes answer which, and why:
//
// {"error"}            ErrorBody, Errors.Error (and Refusal.ToResult): the dashboard's routes as upstream answers them —
//                      orgs, members, invitations, repos, alerts, features, publishers, agents (reads), referrals,
//                      profile, api keys, CLI login, agent runs, evals — and every refusal of feature logic (Refusal).
// {"message"}          MessageBody, Errors.Message: the routes the SDK and CLI call where upstream answers a sentence
//                      (chat completions' 400/402, tools' 401/402, usage), api.md §2.5.3, §4.5.
// {"error","details"}  ErrorDetailsBody, Errors.Details: a refused request body, details a sentence or a zod "format"
//                      tree (BodyErrors; api.md §0.3), and publishing's publisher checks, which the CLI prints as given.
// {"error","message"}  CodedErrorBody, Errors.Coded: a machine-readable code and a sentence, for clients that branch on
//                      the code (account_suspended, free mode, rate limit, database_unavailable, /metrics).
// ProblemDetails       Errors.Problem: a route of our own with no upstream shape and no client expecting one.
//
// A route whose client expects another shape documents it as a named record beside the route (OpenAI's
// {"error":{"message",…}} in Chat/ChatWire, Stripe's in PaymentWire, zod issue lists in PaymentWire and UsageEndpoints,
// publishing's PublishRefused); such a record is built in one place too. Each route lists what it answers with
// ApiDocs' Answers/Refuses, and its handler's Results<…> type names the same records, which OpenApiTests checks
// against real calls.

/// <summary><c>{"error":"…"}</c>: the dashboard's and most of api.md's error body.</summary>
public sealed record ErrorBody(string Error);

/// <summary><c>{"message":"…"}</c>: the LLM and CLI routes' error body (api.md §2.5.3, §4.5).</summary>
public sealed record MessageBody(string Message);

/// <summary><c>{"error":"…","details":…}</c>: details is a sentence or a zod "format" tree (api.md §0.3).</summary>
public sealed record ErrorDetailsBody(string Error, JsonNode? Details);

/// <summary><c>{"error":"code","message":"…"}</c>: a machine-readable code and a sentence (api.md §2.5.3: suspended, free mode, rate limit).</summary>
public sealed record CodedErrorBody(string Error, string Message);

/// <summary>The one place error answers are built, one method per wire shape (see the top of this file).</summary>
public static class Errors
{
    public const string InvalidJsonText = "Invalid JSON in request body";

    public static ErrorResult Error(int status, string error) => TypedResults.Json(new ErrorBody(error), statusCode: status);

    public static MessageResult Message(int status, string message) => TypedResults.Json(new MessageBody(message), statusCode: status);

    public static DetailsResult Details(int status, string error, JsonNode? details) =>
        TypedResults.Json(new ErrorDetailsBody(error, details), statusCode: status);

    public static CodedResult Coded(int status, string error, string message) =>
        TypedResults.Json(new CodedErrorBody(error, message), statusCode: status);

    public static ProblemHttpResult Problem(int status, string title, string? detail = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    /// <summary>[our choice] a body that is not JSON is a 400, never a 500 that clients would retry.</summary>
    public static ErrorResult InvalidJson() => Error(400, InvalidJsonText);

    /// <summary>The same refusal in the <c>{"message"}</c> shape of the LLM and CLI routes.</summary>
    public static MessageResult InvalidJsonMessage() => Message(400, InvalidJsonText);

    public static ErrorResult InternalError() => Error(500, "Internal server error");
}
