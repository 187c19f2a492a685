using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Codebuff.Cli.Api;

/// <summary>Turns a failed server answer into one sentence saying what happened and what to do (issue 17, item 8).</summary>
public static class ApiErrors
{
    public static async Task ThrowIfFailedAsync(HttpResponseMessage response, string appUrl, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var text = await response.Content.ReadAsStringAsync(ct);
        throw FromStatus(response.StatusCode, ServerMessage(text), response.Headers.RetryAfter, appUrl);
    }

    public static CliException FromStatus(HttpStatusCode status, string? message, System.Net.Http.Headers.RetryConditionHeaderValue? retryAfter, string appUrl)
    {
        var said = string.IsNullOrWhiteSpace(message) ? "" : $" The server said: {message.TrimEnd('.')}.";
        return (int)status switch
        {
            401 => new CliException($"Your login was rejected by the server (401). Run `codebuff login` to log in again.{said}", 3),
            402 => new CliException($"You are out of credits.{said} Buy credits at {appUrl}/usage, or wait for your monthly free credits.", 4),
            403 => new CliException($"The server refused this (403).{said}", 1),
            429 => new CliException($"You are being rate limited; {RetryText(retryAfter)}.{said}", 5),
            >= 500 => new CliException($"The Codebuff server had an error ({(int)status}).{said} Try again in a moment.", 6),
            _ => new CliException($"The server refused the request ({(int)status}).{said}", 1),
        };
    }

    public static CliException Unreachable(string appUrl, HttpRequestException e) =>
        new($"Cannot reach the Codebuff server at {appUrl} ({e.HttpRequestError switch
        {
            HttpRequestError.ConnectionError => "connection refused or host unreachable",
            HttpRequestError.NameResolutionError => "the host name does not resolve",
            HttpRequestError.SecureConnectionError => "the TLS handshake failed",
            _ => e.Message,
        }}). Check that it is running, or set CODEBUFF_APP_URL.", 7);

    static string RetryText(System.Net.Http.Headers.RetryConditionHeaderValue? retryAfter)
    {
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        if (wait is not { } w || w <= TimeSpan.Zero) return "try again in a minute";
        return w.TotalSeconds < 90 ? $"try again in {Math.Ceiling(w.TotalSeconds)} seconds" : $"try again in {Math.Ceiling(w.TotalMinutes)} minutes";
    }

    /// <summary>Codebuff routes answer <c>{error}</c>, <c>{error:{message}}</c> or <c>{message}</c>: read them in that order.</summary>
    public static string? ServerMessage(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject o)
            {
                if (o["error"] is JsonValue e && e.GetValueKind() == JsonValueKind.String)
                    return o["details"] is JsonValue d && d.GetValueKind() == JsonValueKind.String ? $"{e}: {d}" : (string?)e;
                if (o["error"] is JsonObject inner && inner["message"] is JsonValue m) return m.ToString();
                if (o["message"] is JsonValue msg) return msg.ToString();
            }
        }
        catch (JsonException)
        {
            // Not JSON: the raw text (if short) is the best we have.
        }
        return body.Length is > 0 and < 300 ? body.Trim() : null;
    }
}
