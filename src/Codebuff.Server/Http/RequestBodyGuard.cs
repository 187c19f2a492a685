using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;

namespace Codebuff.Server.Http;

/// <summary>
/// Reads every request body once, before the endpoint: a body over <see cref="CodebuffOptions.MaxRequestBodyBytes"/>
/// answers 413, and a JSON body holding a string PostgreSQL cannot store (U+0000, a lone surrogate) answers 400 —
/// both with a JSON body, for every route, instead of failing somewhere inside the endpoint as a 500. The endpoint
/// then reads the same bytes from memory.
/// A request without a verified caller (an Authorization or x-codebuff-api-key header, or the session cookie, that
/// names a user by the route's scheme; a Stripe-Signature on the webhook route) may send only
/// <see cref="CodebuffOptions.MaxAnonymousBodyBytes"/>: beyond that it is refused
/// without reading (or draining) the rest, so nobody unauthenticated makes the server buffer megabytes. Smaller
/// bodies still reach the endpoint, which keeps api.md's order (a bad body's 400 before the 401), and the routes that
/// take a legacy body <c>authToken</c> keep the full limit, as their credential is inside the body.
/// </summary>
sealed class RequestBodyGuard(RequestDelegate next, IOptions<CodebuffOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            await next(context);
            return;
        }
        var endpoint = context.GetEndpoint();
        var anonymousMax = Math.Min(options.Value.MaxAnonymousBodyBytes, options.Value.MaxRequestBodyBytes);
        // A body larger than the anonymous limit (or of unknown length) needs a caller the credential really names, not
        // just a credential header: any made-up header would do otherwise.
        var anonymous = endpoint?.Metadata.GetMetadata<CallerGroups.BodyAuthToken>() is null
                        && !(endpoint?.Metadata.GetMetadata<SignedBody>() is not null && request.Headers.ContainsKey("Stripe-Signature"))
                        && !(request.ContentLength <= anonymousMax ? HasCredentialHeader(request) : await IsVerifiedCallerAsync(context, endpoint));
        var max = anonymous ? anonymousMax : options.Value.MaxRequestBodyBytes;
        // Up to DrainLimit an oversized body is read and dropped before the 413: a client still sending its body when
        // the server hangs up sees a broken pipe, not the answer. Beyond it Kestrel refuses to read on. A caller
        // without credentials gets no such courtesy: nothing past its limit is read.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = anonymous ? max : Math.Max(max, DrainLimit);
        byte[]? body;
        try
        {
            body = await ReadAsync(request.Body, request.ContentLength, max, drain: !anonymous, context.RequestAborted);
        }
        catch (Exception e) when (e is EndOfStreamException or OperationCanceledException or BadHttpRequestException { StatusCode: not 413 })
        {
            context.Abort(); // the client went away or sent a broken body: there is nobody to answer
            return;
        }
        catch (BadHttpRequestException)
        {
            context.Response.Headers.Connection = "close"; // the rest of the body stays unread
            body = null;
        }
        if (body is null)
        {
            if (anonymous) context.Response.Headers.Connection = "close";
            await Errors.Coded(StatusCodes.Status413PayloadTooLarge, "payload_too_large", anonymous
                ? $"Without a valid credential (an Authorization or x-codebuff-api-key header, or the session cookie) the request body may be at most {max} bytes."
                : $"The request body is larger than this server's limit of {max} bytes.").ExecuteAsync(context);
            return;
        }
        if (!IsForm(request.ContentType) && RequestJson.FindUnusableValue(body) is { } problem)
        {
            await Errors.Coded(StatusCodes.Status400BadRequest, "invalid_request_body", problem).ExecuteAsync(context);
            return;
        }
        request.Body = new MemoryStream(body, writable: false);
        await next(context);
    }

    const long DrainLimit = 128L * 1024 * 1024;

    static bool HasCredentialHeader(HttpRequest request) =>
        Credentials.HeaderToken(request) is not null || request.Cookies.ContainsKey(WebSession.Cookie) || request.Cookies.ContainsKey(WebSession.SecureCookie);

    /// <summary>Whether the credential header names a user, checked by the route's own scheme (the result is kept for the
    /// route's authorization, so the lookup is not repeated). A route outside a caller group has no verified caller.</summary>
    static async Task<bool> IsVerifiedCallerAsync(HttpContext context, Endpoint? endpoint) =>
        HasCredentialHeader(context.Request)
        && endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.AuthorizationPolicy>()?.AuthenticationSchemes.FirstOrDefault() is { } scheme
        && (await context.AuthenticateAsync(scheme)).Succeeded;

    /// <summary>Endpoint metadata: the body is signed (a Stripe webhook, checked by its endpoint), so a
    /// <c>Stripe-Signature</c> header lifts the anonymous limit on this route only.</summary>
    public sealed class SignedBody;

    /// <returns>
    /// The whole body, or null when it exceeds <paramref name="max"/> bytes (then read to its end all the same when
    /// <paramref name="drain"/>, else left unread from the first byte past the limit).
    /// </returns>
    static async Task<byte[]?> ReadAsync(Stream stream, long? length, long max, bool drain, CancellationToken ct)
    {
        if (length > max && !drain) return null;
        if (length <= max)
        {
            var exact = new byte[length.Value];
            await stream.ReadExactlyAsync(exact, ct);
            return exact;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        var tooLarge = false;
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max) tooLarge = true;
            if (tooLarge && !drain) break;
            if (!tooLarge) buffer.Write(chunk, 0, read);
        }
        return tooLarge ? null : buffer.ToArray();
    }

    static bool IsForm(string? contentType) =>
        contentType is not null && (contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
                                    || contentType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase));
}
