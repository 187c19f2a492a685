using Codebuff.Server.Web.Components;

namespace Codebuff.Server.Web;

/// <summary>
/// The web dashboard: Razor components rendered on the server (static SSR, enhanced navigation and forms) in this
/// host. Pages call the same feature logic as the JSON API; every page request resolves its caller (web cookie or a
/// personal access token) through the one authentication handler.
/// </summary>
public static class Dashboard
{
    public static void AddDashboard(this IServiceCollection services) => services.AddRazorComponents();

    public static void MapDashboard(this WebApplication app)
    {
        // Named explicitly: a host started by the tests has another application name, and would look for its own manifest.
        app.MapStaticAssets(Path.Combine(AppContext.BaseDirectory, $"{typeof(App).Assembly.GetName().Name}.staticwebassets.endpoints.json"));
        app.MapRazorComponents<App>()
            .IdentifyCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.SignIn)
            .SignOutBanned()
            .ExcludeFromDescription();
    }

    /// <summary>/login with a way back to the page that asked.</summary>
    public static string SignInUrl(HttpRequest request) =>
        "/login?next=" + Uri.EscapeDataString(request.Path + request.QueryString);

    /// <summary>Site admins (Codebuff:Admins, e-mail addresses) see the admin pages and any run's trace.</summary>
    public static bool IsAdmin(HttpContext http) =>
        Caller.Of(http).User is { } user
        && http.RequestServices.GetRequiredService<IOptions<CodebuffOptions>>().Value.IsSiteAdmin(user.Email);
}
