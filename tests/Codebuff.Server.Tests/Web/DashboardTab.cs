using System.Runtime.CompilerServices;
using Codebuff.Server.Auth;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// A Chromium tab on the dashboard. Every page it visits is saved as a screenshot under TestResults/screenshots (a test
/// artifact) and watched for console errors and failed requests; disposing the tab fails the test if there were any.
/// </summary>
public sealed class DashboardTab : IAsyncDisposable
{
    readonly IBrowserContext _context;
    readonly Uri _base;
    readonly string _test;
    readonly List<string> _problems = [];
    readonly HashSet<string> _refusedPages = [];
    readonly List<(string Location, string Problem)> _resourceErrors = [];
    int _shots;

    DashboardTab(IBrowserContext context, IPage page, Uri baseAddress, string test)
    {
        _context = context;
        Page = page;
        _base = baseAddress;
        _test = test;
        page.Console += (_, message) =>
        {
            // Chromium also logs a page that answers 4xx on purpose as a failed resource: judged at the end, once every
            // page's own status is known (the log line may come before the Response event).
            if (message.Type != "error") return;
            if (message.Text.StartsWith("Failed to load resource: the server responded with a status of 4")) _resourceErrors.Add((message.Location, $"console error on {page.Url} ({message.Location}): {message.Text}"));
            else _problems.Add($"console error on {page.Url}: {message.Text}");
        };
        page.PageError += (_, error) => _problems.Add($"script error on {page.Url}: {error}");
        page.RequestFailed += (_, request) =>
        {
            // Blazor's enhanced navigation and form posts cancel their fetch once the page is in (or a newer one starts).
            if (request.ResourceType == "fetch" && request.Failure == "net::ERR_ABORTED") return;
            _problems.Add($"request failed: {request.Url} ({request.Failure})");
        };
        page.Response += (_, response) =>
        {
            // Pages may answer 4xx on purpose (a refused admin page); their assets never should.
            if (response.Status >= 400 && response.Request.ResourceType is not "document") _problems.Add($"{response.Status} for {response.Url}");
            else if (response.Status >= 400) _refusedPages.Add(response.Url);
        };
    }

    public IPage Page { get; }

    /// <summary>A new browser context (its own cookies), signed in as <paramref name="user"/> when given.</summary>
    public static async Task<DashboardTab> OpenAsync(ServerFixture server, TestUser? user = null, [CallerMemberName] string test = "")
    {
        var context = await Browser.NewContextAsync();
        if (user is not null)
            await context.AddCookiesAsync([new Microsoft.Playwright.Cookie
            {
                Name = WebSession.Cookie, Value = await server.WebSessionTokenAsync(user), Url = server.BaseAddress.GetLeftPart(UriPartial.Authority),
            }]);
        return new DashboardTab(context, await context.NewPageAsync(), server.BaseAddress, test);
    }

    /// <summary>Opens a dashboard path, waits for it to settle and saves its screenshot.</summary>
    public async Task<IResponse?> GotoAsync(string path)
    {
        var response = await Page.GotoAsync(new Uri(_base, path).ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        await ScreenshotAsync();
        return response;
    }

    /// <summary>Saves the current page (after a click or a form post) as the next screenshot of this test.</summary>
    public async Task ScreenshotAsync()
    {
        var name = $"{_test}-{++_shots:00}-{Slug(new Uri(Page.Url).AbsolutePath)}.png";
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name), FullPage = true });
    }

    /// <summary>The page's one h1, which every dashboard page has.</summary>
    public async Task<string> HeadingAsync()
    {
        Assert.Equal(1, await Page.Locator("h1").CountAsync());
        return (await Page.InnerTextAsync("h1")).Trim();
    }

    public async ValueTask DisposeAsync()
    {
        await _context.CloseAsync();
        // Chromium logs the status of a page that answers 4xx on purpose (404, 403, 410); only other resources count.
        _problems.AddRange(_resourceErrors.Where(e => !_refusedPages.Any(url => e.Location.StartsWith(url, StringComparison.Ordinal))).Select(e => e.Problem));
        Assert.True(_problems.Count == 0, string.Join("\n", _problems));
    }

    static string Slug(string path) => path.Trim('/') is { Length: > 0 } p ? string.Concat(p.Select(c => char.IsLetterOrDigit(c) ? c : '_')) : "home";

    /// <summary>TestResults/screenshots at the repository root (where run-tests.sh collects results).</summary>
    static readonly string ScreenshotDir = Directory.CreateDirectory(Path.Combine(RepositoryRoot(), "TestResults", "screenshots")).FullName;

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Codebuff.slnx"))) return dir.FullName;
        return AppContext.BaseDirectory;
    }
}
