namespace Codebuff.Server.Hosting;

/// <summary>
/// The JSON error body the hosting layer writes itself, before or around the endpoints (413, 400 for unstorable
/// strings, 503): <c>{"error": code, "message": sentence}</c>, the shape of Codebuff's chat errors, so clients that
/// read either field get something meaningful.
/// </summary>
static class HttpErrors
{
    public static Task WriteAsync(HttpContext context, int status, string error, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error, message });
    }
}
