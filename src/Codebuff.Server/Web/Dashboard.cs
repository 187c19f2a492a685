using Codebuff.Server.Web.Components;
using Microsoft.AspNetCore.Hosting.StaticWebAssets;

namespace Codebuff.Server.Web;

/// <summary>
/// The web dashboard: Razor components rendered on the server (static SSR, enhanced navigation and forms) in this
/// host. Pages call the same feature logic as the JSON API; every page request resolves its caller (web cookie or a
/// personal access token) through the one authentication handler.
/// </summary>
public static class Dashboard
{
    static string AssemblyName => typeof(App).Assembly.GetName().Name!;

    public static void AddDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents();
        // A build's output folder has no wwwroot: its assets stay in the project (and obj/ for the compressed ones),
        // listed by the runtime manifest beside the binary. ASP.NET Core reads that manifest only in Development, so
        // `dotnet run` (Production, no launch profile) and the built dll served every asset as 200 with an empty body
        // (MapStaticAssets maps the endpoints manifest's routes, then finds no file). A published folder has wwwroot
        // and no runtime manifest, so this leaves it alone.
        var runtimeManifest = Path.Combine(AppContext.BaseDirectory, $"{AssemblyName}.staticwebassets.runtime.json");
        if (File.Exists(runtimeManifest))
        {
            builder.Configuration[WebHostDefaults.StaticWebAssetsKey] = runtimeManifest;
            StaticWebAssetsLoader.UseStaticWebAssets(builder.Environment, builder.Configuration);
        }
    }

    public static void MapDashboard(this WebApplication app)
    {
        app.MapProfileRedirects();
        // Named explicitly: a host started by the tests has another application name, and would look for its own manifest.
        app.MapStaticAssets(Path.Combine(AppContext.BaseDirectory, $"{AssemblyName}.staticwebassets.endpoints.json"));
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
