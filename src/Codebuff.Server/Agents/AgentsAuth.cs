using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;

namespace Codebuff.Server.Agents;

/// <summary>The agent and publisher routes' shared answers and body reading; callers are found by Auth/RequestUser.</summary>
public static class AgentsAuth
{
    public static IResult Unauthorized() => Results.Json(new { error = "Unauthorized" }, statusCode: 401);

    /// <summary>[our choice] 400 for a body that is not JSON; upstream answers 500, which clients would retry.</summary>
    public static IResult InvalidJson() => Results.Json(new { error = "Invalid JSON in request body" }, statusCode: 400);

    public static IResult InternalError() => Results.Json(new { error = "Internal server error" }, statusCode: 500);

    /// <summary>The body as JSON whatever its Content-Type. Unlike RequestJson, tells a body that is not JSON (ok=false) from the literal null.</summary>
    public static async Task<(bool Ok, JsonNode? Body)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(ct);
        try
        {
            return (true, JsonNode.Parse(text));
        }
        catch (JsonException)
        {
            return (false, null);
        }
    }
}
