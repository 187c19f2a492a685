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
    readonly int _width;
    readonly List<string> _problems = [];
    readonly HashSet<string> _refusedPages = [];
    readonly List<(string Location, string Problem)> _resourceErrors = [];
    readonly List<Task> _bodyChecks = [];
    int _shots;

    DashboardTab(IBrowserContext context, IPage page, Uri baseAddress, string test, int width)
    {
        _width = width;
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
            else if (response.Status == 200 && response.Request.ResourceType is "stylesheet" or "script" or "image" or "font")
                _bodyChecks.Add(CheckBodyAsync(response));
        };
    }

    public IPage Page { get; }

    /// <summary>Every asset URL that answered 200 (with a body) so far.</summary>
    public List<string> Assets { get; } = [];

    // An asset the server maps but cannot find answers 200 with an empty body (as the build output did in Production).
    async Task CheckBodyAsync(IResponse response)
    {
        try
        {
            var body = await response.BodyAsync();
            if (body.Length == 0) lock (_problems) _problems.Add($"empty body for {response.Url}");
            else lock (Assets) Assets.Add(response.Url);
        }
        catch (PlaywrightException) { } // the page navigated on before its body was read
    }

    /// <summary>A new browser context (its own cookies), signed in as <paramref name="user"/> when given.</summary>
    public static async Task<DashboardTab> OpenAsync(ServerFixture server, TestUser? user = null, int width = 1200, [CallerMemberName] string test = "") =>
        await OpenAsync(server.BaseAddress, user is null ? null : await server.WebSessionTokenAsync(user), width, test);

    /// <summary>A tab on any server (e.g. a child process), with a web session's raw token as its cookie when given.</summary>
    public static async Task<DashboardTab> OpenAsync(Uri baseAddress, string? sessionToken, int width = 1200, [CallerMemberName] string test = "")
    {
        var context = await Browser.NewContextAsync(width);
        if (sessionToken is not null)
            await context.AddCookiesAsync([new Microsoft.Playwright.Cookie
            {
                Name = WebSession.Cookie, Value = sessionToken, Url = baseAddress.GetLeftPart(UriPartial.Authority),
            }]);
        return new DashboardTab(context, await context.NewPageAsync(), baseAddress, test, width);
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
        var name = $"{_test}-{_width}px-{++_shots:00}-{Slug(new Uri(Page.Url).AbsolutePath)}.png";
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name), FullPage = true });
    }

    /// <summary>
    /// What does not fit the viewport's width: the page scrolling sideways, or an element reaching past either edge
    /// (except inside a box that scrolls or clips sideways on purpose, such as a wide table's wrapper).
    /// </summary>
    public async Task<string[]> OverflowAsync() => await Page.EvaluateAsync<string[]>("""
        () => {
            const width = document.documentElement.clientWidth;
            const found = [];
            if (document.documentElement.scrollWidth > width)
                found.push(`the page scrolls sideways (${document.documentElement.scrollWidth}px wide in ${width}px)`);
            const contained = el => {
                for (let p = el.parentElement; p && p !== document.body; p = p.parentElement)
                    if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) return true;
                return false;
            };
            const reported = [];
            for (const el of document.body.querySelectorAll('*')) {
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
                if (r.right <= width + 1 && r.left >= -1) continue;
                // Wholly left of the page is the skip link's way of hiding until focused; it widens nothing.
                if (r.right <= 0) continue;
                if (contained(el) || reported.some(p => p.contains(el))) continue;
                reported.push(el);
                const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
                found.push(`${name} spans ${Math.round(r.left)}..${Math.round(r.right)}px: "${(el.innerText || '').slice(0, 40)}"`);
            }
            return found.slice(0, 12);
        }
        """);

    /// <summary>Waits for the bodies of the assets seen so far to be judged.</summary>
    public async Task AssetsCheckedAsync()
    {
        Task[] pending;
        lock (Assets) pending = [.. _bodyChecks];
        await Task.WhenAll(pending);
    }

    /// <summary>The page's one h1, which every dashboard page has.</summary>
    public async Task<string> HeadingAsync()
    {
        Assert.Equal(1, await Page.Locator("h1").CountAsync());
        return (await Page.InnerTextAsync("h1")).Trim();
    }

    public async ValueTask DisposeAsync()
    {
        await AssetsCheckedAsync();
        await _context.CloseAsync();
        // Chromium logs the status of a page that answers 4xx on purpose (404, 403, 410); only other resources count.
        _problems.AddRange(_resourceErrors.Where(e => !_refusedPages.Any(url => e.Location.StartsWith(url, StringComparison.Ordinal))).Select(e => e.Problem));
        Assert.True(_problems.Count == 0, string.Join("\n", _problems));
    }

    static string Slug(string path) => path.Trim('/') is { Length: > 0 } p ? string.Concat(p.Select(c => char.IsLetterOrDigit(c) ? c : '_')) : "home";

    /// <summary>TestResults/screenshots at the repository root (where run-tests.sh collects results).</summary>
    static readonly string ScreenshotDir = Directory.CreateDirectory(Path.Combine(RepositoryRoot(), "TestResults", "screenshots")).FullName;

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Codebuff.slnx"))) return dir.FullName;
        return AppContext.BaseDirectory;
    }
}
