using Microsoft.AspNetCore.Diagnostics;

namespace Codebuff.Server.Web.Components;

/// <summary>A page that answers 4xx on purpose (not found, gone, refused) still shows itself.</summary>
public static class PageStatus
{
    /// <summary>
    /// Sets the response status with the page as its body: status code pages stay off for the request, and the status
    /// is applied only as the rendered page starts to go out — .NET 10's component endpoint sends a GET page whose
    /// status is already 4xx without its body (it expects the router's NotFoundPage or re-execution).
    /// </summary>
    public static void Set(HttpContext http, int status)
    {
        if (http.Features.Get<IStatusCodePagesFeature>() is { } pages) pages.Enabled = false;
        http.Response.OnStarting(() =>
        {
            if (http.Response.StatusCode == StatusCodes.Status200OK) http.Response.StatusCode = status;
            return Task.CompletedTask;
        });
    }

    public static void NotFound(HttpContext http) => Set(http, StatusCodes.Status404NotFound);
}
