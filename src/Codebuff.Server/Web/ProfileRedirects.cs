namespace Codebuff.Server.Web;

/// <summary>Upstream's short links into the profile's tabs (clients.md §1.1); any other query (a Stripe cancel flag) comes along.</summary>
public static class ProfileRedirects
{
    public static void MapProfileRedirects(this IEndpointRouteBuilder app)
    {
        foreach (var (path, tab) in new[] { ("/usage", "usage"), ("/api-keys", "api-keys"), ("/referrals", "referrals") })
            app.MapGet(path, (HttpRequest request) => Results.Redirect(Target(tab, request.QueryString))).Page();
    }

    static string Target(string tab, QueryString query)
    {
        var rest = query.HasValue ? "&" + query.Value![1..] : "";
        return $"/profile?tab={tab}{rest}";
    }
}
