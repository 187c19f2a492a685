using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, installed by run-tests.sh) driven by Playwright for .NET, one browser per
/// test run. Playwright never downloads a browser here; the flags keep Chromium off the network.
/// </summary>
public static class Browser
{
    static readonly SemaphoreSlim Gate = new(1, 1);
    static IBrowser? _browser;

    public static async Task<IBrowserContext> NewContextAsync(int width = 1200)
    {
        var browser = await LaunchAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        // Generous: CI runs these next to four parallel test classes and PostgreSQL on two cores.
        context.SetDefaultTimeout(90_000);
        return context;
    }

    static async Task<IBrowser> LaunchAsync()
    {
        if (_browser is not null) return _browser;
        await Gate.WaitAsync();
        try
        {
            if (_browser is not null) return _browser;
            var playwright = await Playwright.CreateAsync();
            _browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
            });
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                _browser.CloseAsync().GetAwaiter().GetResult();
                playwright.Dispose();
            };
            return _browser;
        }
        finally
        {
            Gate.Release();
        }
    }
}
