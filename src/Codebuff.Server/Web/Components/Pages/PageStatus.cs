using Microsoft.AspNetCore.Diagnostics;

namespace Codebuff.Server.Web.Components.Pages;

/// <summary>A page that answers 4xx on purpose (not found, gone, refused) still shows itself.</summary>
public static class PageStatus
{
    /// <summary>
    /// Sets the response status; status code pages stay off for the request, so the rendered page is the body. A 404
    /// is applied as the response starts: .NET 10's component endpoint sends a page whose status is already 404
    /// without its body (it expects the router's NotFoundPage or re-execution), and our page says what was not found.
    /// </summary>
    public static void Set(HttpContext http, int status)
    {
        if (http.Features.Get<IStatusCodePagesFeature>() is { } pages) pages.Enabled = false;
        if (status != StatusCodes.Status404NotFound)
        {
            http.Response.StatusCode = status;
            return;
        }
        http.Response.OnStarting(() =>
        {
            if (http.Response.StatusCode == StatusCodes.Status200OK) http.Response.StatusCode = status;
            return Task.CompletedTask;
        });
    }
}
