using System.Security.Cryptography;
using Codebuff.Cli.Api;
using Codebuff.Cli.Config;
using Codebuff.Contracts;
using Spectre.Console;

namespace Codebuff.Cli.Accounts;

/// <summary>login, logout, whoami and usage (clients.md §2.4, §2.9).</summary>
public static class AccountCommands
{
    public static async Task<int> LoginAsync(CliHost host, CancellationToken ct)
    {
        var config = new CliConfig(host);
        if (config.Credentials.Load() is { } existing)
        {
            using var check = new CodebuffApi(config.AppUrl, existing.AuthToken);
            try
            {
                await check.MeAsync(ct);
                host.Console.MarkupLineInterpolated($"You are already logged in as {Who(existing)}. Run [bold]codebuff logout[/] first to switch accounts.");
                return 0;
            }
            catch (CliException e) when (e.ExitCode == 3)
            {
                host.Console.MarkupLine("[yellow]Your saved login no longer works; logging in again.[/]");
            }
        }

        using var api = new CodebuffApi(config.AppUrl, null);
        var code = await api.StartLoginAsync(NewFingerprint(), ct);
        host.Console.MarkupLine("Open this link in a browser to log in:");
        // Raw, past the console's wrapping: a link broken at the terminal width cannot be clicked or copied.
        host.Console.Profile.Out.Writer.WriteLine(code.LoginUrl);
        // The page shows the same code and links only when the user confirms it matches this one.
        host.Console.MarkupLineInterpolated($"Code: [bold]{CliLoginCheck.Of(code.FingerprintHash)}[/] (connect only if the page shows this code)");
        host.Console.MarkupLine("[dim]Waiting for the browser (up to 5 minutes)…[/]");
        if (host.Interactive) host.OpenBrowser(code.LoginUrl);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(host.LoginTimeout);
        try
        {
            while (true)
            {
                await Task.Delay(host.LoginPollInterval, timeout.Token);
                if (await api.PollLoginAsync(code, timeout.Token) is not { } user) continue;
                config.Credentials.Save(user);
                using var authed = new CodebuffApi(config.AppUrl, user.AuthToken);
                await authed.MeAsync(ct);
                host.Console.MarkupLineInterpolated($"[green]Logged in as {Who(user)}.[/]");
                return 0;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException("The login link was not used within 5 minutes. Run `codebuff login` to try again.");
        }
    }

    public static async Task<int> LogoutAsync(CliHost host, CancellationToken ct)
    {
        var config = new CliConfig(host);
        if (config.Credentials.Load() is not { } user)
        {
            host.Console.MarkupLine("You are not logged in.");
            return 0;
        }
        using (var api = new CodebuffApi(config.AppUrl, user.AuthToken))
        {
            try
            {
                await api.LogoutAsync(user, ct);
            }
            catch (CliException e) when (e.ExitCode is 3 or 7)
            {
                // Rejected or unreachable: the local login still goes, and we say so.
                host.Console.MarkupLineInterpolated($"[yellow]The server was not told: {e.Message}[/]");
            }
        }
        config.Credentials.Remove();
        host.Console.MarkupLineInterpolated($"Logged out {Who(user)}.");
        return 0;
    }

    public static async Task<int> WhoAmIAsync(CliHost host, CancellationToken ct)
    {
        var config = new CliConfig(host);
        var saved = config.Credentials.Load();
        using var api = new CodebuffApi(config.AppUrl, config.RequireToken());
        var me = await api.MeAsync(ct);
        var email = (string?)me["email"];
        var source = saved is null ? " (from CODEBUFF_API_KEY)" : "";
        host.Console.MarkupLineInterpolated($"Logged in as {(saved?.Name is { Length: > 0 } name ? $"{name} ({email})" : email)}{source} on {config.AppUrl}.");
        return 0;
    }

    public static async Task<int> UsageAsync(CliHost host, string? org, CancellationToken ct)
    {
        var config = new CliConfig(host);
        using var api = new CodebuffApi(config.AppUrl, config.RequireToken());
        var usage = await api.UsageAsync(org, ct);
        host.Console.Write(UsageBanner(usage, config.AppUrl, sessionCredits: null));
        return 0;
    }

    /// <summary>The usage banner: colour-coded balance, the grants it is made of, the next reset, the session's spend.</summary>
    public static Panel UsageBanner(UsageResponse usage, string appUrl, decimal? sessionCredits)
    {
        var colour = usage.RemainingBalance switch { < 100 => "red", < 500 => "yellow", _ => "green" };
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow(new Markup("Balance"), new Markup($"[{colour} bold]{usage.RemainingBalance:N0} credits[/]"));
        foreach (var (type, amount) in usage.BalanceBreakdown.Where(b => b.Value != 0))
            grid.AddRow(new Markup($"  [dim]{Markup.Escape(type)}[/]"), new Markup($"[dim]{amount:N0}[/]"));
        grid.AddRow(new Markup("Used this cycle"), new Markup($"{usage.Usage:N0} credits"));
        if (usage.NextQuotaReset is { } reset)
            grid.AddRow(new Markup("Next reset"), new Markup(Markup.Escape(reset.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'"))));
        if (sessionCredits is { } session)
            grid.AddRow(new Markup("Session usage"), new Markup($"{session:0.##} credits"));
        // A server without payments says so; one that does not say (upstream) sells credits.
        if (usage.CanBuyCredits is not false)
            grid.AddRow(new Markup("Buy credits"), new Markup(Markup.Escape($"{appUrl}/usage")));
        return new Panel(grid).Header("Usage").RoundedBorder();
    }

    static string Who(CliUser user) => user.Name is { Length: > 0 } name ? $"{name} ({user.Email})" : user.Email;

    /// <summary>A fresh random <c>codebuff-cli-&lt;base36&gt;</c> fingerprint per login (clients.md §2.4).</summary>
    static string NewFingerprint()
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        return "codebuff-cli-" + string.Concat(RandomNumberGenerator.GetItems<char>(digits, 20));
    }
}
