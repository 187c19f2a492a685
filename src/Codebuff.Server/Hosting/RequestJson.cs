using System.Text.Json;
using System.Text.Json.Nodes;

namespace Codebuff.Server.Hosting;

/// <summary>
/// Reads a request body as JSON whatever its Content-Type says: the SDK posts agent-run bodies as text/plain,
/// so the framework's content-type-gated binding cannot be used for them. The body is parsed once per request:
/// authentication may have read it already for a legacy <c>authToken</c>.
/// </summary>
public static class RequestJson
{
    sealed record Parsed(bool Ok, JsonNode? Body);

    /// <returns>The parsed body, or null when the body is empty, not JSON, or the literal null.</returns>
    public static async Task<JsonNode?> ReadAsync(HttpRequest request, CancellationToken ct = default) =>
        (await TryReadAsync(request, ct)).Body;

    /// <returns>Ok=false when the body is not JSON (an empty body included); Ok=true with Body=null for the literal null.</returns>
    public static async Task<(bool Ok, JsonNode? Body)> TryReadAsync(HttpRequest request, CancellationToken ct = default)
    {
        if (request.HttpContext.Features.Get<Parsed>() is not { } parsed)
        {
            try
            {
                parsed = new Parsed(true, await JsonNode.ParseAsync(request.Body, cancellationToken: ct));
            }
            catch (JsonException)
            {
                parsed = new Parsed(false, null);
            }
            request.HttpContext.Features.Set(parsed);
        }
        return (parsed.Ok, parsed.Body);
    }
}
