using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;

namespace Codebuff.Server.Agents;

/// <summary>How the agent and publisher routes find their caller, and how they read bodies.</summary>
public static class AgentsAuth
{
    /// <summary>
    /// The caller of a route that needs a user: the header token (api.md §1.2), then the legacy body authToken.
    /// Every agents/publishers route goes through here, so the web session cookie lookup belongs here too (first, as
    /// upstream checks the cookie before the token) once the shared cookie-session helper exists.
    /// </summary>
    public static async Task<User?> ResolveUserAsync(HttpContext http, AppDbContext db, TokenHasher hasher, string? bodyAuthToken, CancellationToken ct)
    {
        var token = ApiKeyAuth.GetToken(http.Request) ?? (string.IsNullOrEmpty(bodyAuthToken) ? null : bodyAuthToken);
        return token is null ? null : await ApiKeyAuth.FindUserAsync(db, hasher, token, ct);
    }

    public static IResult Unauthorized() => Results.Json(new { error = "Unauthorized" }, statusCode: 401);

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
