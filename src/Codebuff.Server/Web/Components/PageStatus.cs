namespace Codebuff.Server.Web.Components;

/// <summary>A page's own answer for a thing that does not exist.</summary>
public static class PageStatus
{
    /// <summary>
    /// Answers 404 with the page as rendered. Blazor leaves the body of a response already marked 404 empty (for status
    /// code pages to re-execute), so the status is set only as the rendered page starts to go out.
    /// </summary>
    public static void NotFound(HttpContext http) =>
        http.Response.OnStarting(() =>
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
}
