namespace Codebuff.Server.Agents;

/// <summary>The agent and publisher routes' shared error answers; callers are found by Auth/RequestUser, bodies read by Hosting/RequestJson.</summary>
public static class AgentsAuth
{
    public static IResult Unauthorized() => Results.Json(new { error = "Unauthorized" }, statusCode: 401);

    /// <summary>[our choice] 400 for a body that is not JSON; upstream answers 500, which clients would retry.</summary>
    public static IResult InvalidJson() => Results.Json(new { error = "Invalid JSON in request body" }, statusCode: 400);

    public static IResult InternalError() => Results.Json(new { error = "Internal server error" }, statusCode: 500);
}
