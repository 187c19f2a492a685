using System.Text.Json;
using System.Text.Json.Nodes;

namespace Codebuff.Server.Hosting;

/// <summary>
/// Reads a request body as JSON whatever its Content-Type says: the SDK posts agent-run bodies as text/plain,
/// so the framework's content-type-gated binding cannot be used for them.
/// </summary>
public static class RequestJson
{
    /// <returns>The parsed body, or null when the body is empty, not JSON, or the literal null.</returns>
    public static async Task<JsonNode?> ReadAsync(HttpRequest request, CancellationToken ct = default) =>
        (await TryReadAsync(request, ct)).Body;

    /// <returns>Ok=false when the body is not JSON (an empty body included); Ok=true with Body=null for the literal null.</returns>
    public static async Task<(bool Ok, JsonNode? Body)> TryReadAsync(HttpRequest request, CancellationToken ct = default)
    {
        try
        {
            return (true, await JsonNode.ParseAsync(request.Body, cancellationToken: ct));
        }
        catch (JsonException)
        {
            return (false, null);
        }
    }
}
