using Codebuff.Server.Tests.Web;

namespace Codebuff.Server.Tests.Auth;

/// <summary>The browser's leg of a CLI login without a browser: open the link's /onboard page, then confirm its code.</summary>
public static class CliLoginBrowser
{
    public const string ConnectForm = "connect-cli";

    /// <summary>The /onboard path (with the link's parameters) the login link leads a signed-in browser to.</summary>
    public static string OnboardPath(string loginUrl) => "/onboard" + new Uri(loginUrl).Query;

    /// <summary>Opens the page (its antiforgery token) and posts its confirmation: the linked page's status and body.</summary>
    public static Task<(HttpStatusCode Status, string Body)> ConfirmAsync(HttpClient browser, string loginUrl) =>
        PageForms.PostAsync(browser, OnboardPath(loginUrl), ConnectForm, new Dictionary<string, string>());
}
