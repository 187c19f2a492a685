using System.Net;
using System.Text.RegularExpressions;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// Posting a dashboard form without a browser, as a script or a no-JavaScript browser does: fetch the page (its
/// antiforgery cookie and token), then post the named form (<c>_handler</c>) with the token and the fields.
/// </summary>
public static partial class PageForms
{
    [GeneratedRegex("""name="__RequestVerificationToken" value="([^"]+)" """, RegexOptions.None)]
    private static partial Regex TokenInput();

    /// <summary>A client that keeps cookies (the antiforgery one) and does not follow redirects.</summary>
    public static HttpClient Client(Uri baseAddress, string? bearer = null, string? webSession = null)
    {
        var cookies = new CookieContainer();
        if (webSession is not null) cookies.Add(baseAddress, new Cookie(Codebuff.Server.Auth.WebSession.Cookie, webSession));
        var client = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = baseAddress };
        if (bearer is not null) client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        return client;
    }

    /// <summary>The page's antiforgery token (its cookie stays in the client).</summary>
    public static async Task<string> TokenAsync(HttpClient client, string path)
    {
        var page = await client.GetStringAsync(path);
        var match = TokenInput().Match(page);
        Assert.True(match.Success, $"no antiforgery token on {path}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    public static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient client, string path, string form,
        IReadOnlyDictionary<string, string> fields, string? token = null)
    {
        var values = new Dictionary<string, string>(fields) { ["_handler"] = form, ["__RequestVerificationToken"] = token ?? await TokenAsync(client, path) };
        var response = await client.PostAsync(path, new FormUrlEncodedContent(values));
        var body = response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found
            ? response.Headers.Location!.ToString() : await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body);
    }
}
