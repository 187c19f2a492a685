using Codebuff.Cli.Tests.Infrastructure;
using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;
using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Accounts;

/// <summary>login / whoami / usage / logout against the real server; the browser leg is done over HTTP with a signed-in web session.</summary>
public sealed class AccountCommandTests(CliFixture server) : IClassFixture<CliFixture>
{
    /// <summary>
    /// What the browser does after GitHub sign-in: opens the login link with the web session's cookie, sees the code the
    /// CLI printed (<paramref name="printedCode"/>) and confirms it.
    /// </summary>
    async Task SignInInBrowserAsync(string loginUrl, string userId, string printedCode)
    {
        var token = Guid.NewGuid().ToString("N");
        await using (var db = server.NewDbContext())
        {
            db.Sessions.Add(new Session { SessionToken = server.Services.GetRequiredService<TokenHasher>().Hash(token), UserId = userId, Type = SessionType.Web, Expires = DateTime.UtcNow.AddDays(1) });
            await db.SaveChangesAsync();
        }
        using var browser = Server.Tests.Web.PageForms.Client(server.BaseAddress, webSession: token);
        Assert.Contains($">{printedCode}</code>", await browser.GetStringAsync(Server.Tests.Auth.CliLoginBrowser.OnboardPath(loginUrl)));
        var (status, page) = await Server.Tests.Auth.CliLoginBrowser.ConfirmAsync(browser, loginUrl);
        Assert.True(status == HttpStatusCode.OK && page.Contains("logged in"), page);
    }

    [Fact]
    public async Task Login_saves_credentials_keeping_unknown_keys_then_whoami_usage_and_logout_work()
    {
        using var cli = new CodebuffCli(server.BaseAddress.ToString());
        Directory.CreateDirectory(Path.GetDirectoryName(cli.CredentialsPath)!);
        File.WriteAllText(cli.CredentialsPath, """{"claudeOAuth":{"accessToken":"a","refreshToken":"r","expiresAt":1,"connectedAt":2},"futureKey":[1,2]}""");
        var user = await server.CreateUserAsync(credits: 700);
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Name, "Jane Doe"));

        var console = new TestConsole().Width(300);
        var login = cli.RunAsync(["login"], console: console, pollInterval: TimeSpan.FromMilliseconds(200));
        string? url = null;
        for (var i = 0; i < 100 && url is null; i++)
        {
            await Task.Delay(50);
            url = console.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("/login?auth_code=codebuff-cli-"));
        }
        Assert.NotNull(url);
        // Next to the link the CLI prints the short code the page shows before linking.
        var hash = new Uri(url).Query.Split('.')[^1];
        var printed = Codebuff.Contracts.CliLoginCheck.Of(hash);
        Assert.Matches("^[A-Z0-9]{4}-[A-Z0-9]{4}$", printed);
        for (var i = 0; i < 100 && !console.Output.Contains("Code: "); i++) await Task.Delay(50);
        Assert.Contains($"Code: {printed}", console.Output);
        await SignInInBrowserAsync(url, user.Id, printed);
        var result = await login;

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Logged in as Jane Doe ({user.Email}).", result.Console);
        var saved = JsonNode.Parse(File.ReadAllText(cli.CredentialsPath))!.AsObject();
        Assert.Equal("a", (string?)saved["claudeOAuth"]!["accessToken"]);
        Assert.Equal("[1,2]", saved["futureKey"]!.ToJsonString());
        var creds = saved["default"]!;
        Assert.Equal((user.Id, user.Email, "Jane Doe"), ((string?)creds["id"], (string?)creds["email"], (string?)creds["name"]));
        Assert.StartsWith("codebuff-cli-", (string?)creds["fingerprintId"]);
        Assert.Matches("^[0-9a-f]{64}$", (string?)creds["fingerprintHash"]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.CredentialsPath));
        var token = (string)creds["authToken"]!;

        var whoami = await cli.RunAsync(["whoami"]);
        Assert.Equal(0, whoami.ExitCode);
        Assert.Contains($"Logged in as Jane Doe ({user.Email})", whoami.Console);

        var usage = await cli.RunAsync(["usage"]);
        Assert.True(usage.ExitCode == 0, usage.Error);
        Assert.Contains("700 credits", usage.Console);
        Assert.Contains("admin", usage.Console);
        Assert.Contains("Next reset", usage.Console);
        // The test server has no payments configured: nothing to buy is offered.
        Assert.DoesNotContain("Buy credits", usage.Console);

        var logout = await cli.RunAsync(["logout"]);
        Assert.Equal(0, logout.ExitCode);
        saved = JsonNode.Parse(File.ReadAllText(cli.CredentialsPath))!.AsObject();
        Assert.Null(saved["default"]);
        Assert.NotNull(saved["claudeOAuth"]);
        using var client = server.ClientFor(new Server.Tests.Infrastructure.TestUser(user.Id, user.Email, token));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me")).StatusCode);

        var after = await cli.RunAsync(["whoami"]);
        Assert.Equal((1, "You are not logged in. Run `codebuff login` (or set CODEBUFF_API_KEY to an API key)."), (after.ExitCode, after.Error.Trim()));
    }

    [Fact]
    public async Task Logout_deletes_the_file_when_nothing_else_is_in_it()
    {
        using var cli = new CodebuffCli(server.BaseAddress.ToString());
        var user = await server.CreateUserAsync();
        Directory.CreateDirectory(Path.GetDirectoryName(cli.CredentialsPath)!);
        File.WriteAllText(cli.CredentialsPath, JsonSerializer.Serialize(new
        {
            @default = new { id = user.Id, name = (string?)null, email = user.Email, authToken = user.ApiKey, fingerprintId = "codebuff-cli-x", fingerprintHash = "00" },
        }));
        Assert.Contains(user.Email, (await cli.RunAsync(["whoami"])).Console);
        Assert.Equal(0, (await cli.RunAsync(["logout"])).ExitCode);
        Assert.False(File.Exists(cli.CredentialsPath));
    }

    [Fact]
    public async Task The_api_key_variable_is_the_fallback_and_the_file_wins()
    {
        var fileUser = await server.CreateUserAsync();
        var envUser = await server.CreateUserAsync();
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), envUser.ApiKey);
        var fromEnv = await cli.RunAsync(["whoami"]);
        Assert.Contains($"Logged in as {envUser.Email} (from CODEBUFF_API_KEY)", fromEnv.Console);

        Directory.CreateDirectory(Path.GetDirectoryName(cli.CredentialsPath)!);
        File.WriteAllText(cli.CredentialsPath, JsonSerializer.Serialize(new
        {
            @default = new { id = fileUser.Id, name = "File User", email = fileUser.Email, authToken = fileUser.ApiKey, fingerprintId = "codebuff-cli-y", fingerprintHash = "00" },
        }));
        Assert.Contains($"Logged in as File User ({fileUser.Email})", (await cli.RunAsync(["whoami"])).Console);
    }

    [Fact]
    public async Task A_rejected_token_and_an_unreachable_server_are_sentences()
    {
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), "cb-pat-" + new string('0', 64));
        var rejected = await cli.RunAsync(["whoami"]);
        Assert.Equal(3, rejected.ExitCode);
        Assert.StartsWith("Your login was rejected by the server (401). Run `codebuff login` to log in again.", rejected.Error);

        using var offline = new CodebuffCli("http://127.0.0.1:9", "cb-pat-x");
        var unreachable = await offline.RunAsync(["usage"]);
        Assert.Equal((7, "Cannot reach the Codebuff server at http://127.0.0.1:9 (connection refused or host unreachable). Check that it is running, or set CODEBUFF_APP_URL."),
            (unreachable.ExitCode, unreachable.Error.Trim()));
        Assert.DoesNotContain("   at ", unreachable.Error);
    }
}
