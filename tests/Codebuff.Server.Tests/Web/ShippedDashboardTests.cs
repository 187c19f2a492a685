using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// The dashboard as the README starts it: the server's own build output, in Production (no launch profile), both as
/// `dotnet run --no-build --project src/Codebuff.Server` and as the built dll. In-process test hosts prove nothing
/// here: in Production ASP.NET Core ignores the build's static web assets unless the server itself enables them, and
/// every asset then answered 200 with an empty body.
/// </summary>
public sealed class ShippedDashboardTests
{
    [Theory]
    [InlineData("dll")]
    [InlineData("dotnet-run")]
    public async Task Pages_are_styled_and_scripted_in_Production_from_the_build_output(string launch)
    {
        var root = DashboardTab.RepositoryRoot();
        // The test's own configuration (Debug/Release) built the server's output too, through the project reference.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var buildOutput = Path.Combine(root, "src", "Codebuff.Server", "bin", configuration, "net10.0");
        Assert.True(File.Exists(Path.Combine(buildOutput, "Codebuff.Server.dll")), $"no server build at {buildOutput}");

        var database = await TestCluster.CreateDatabaseAsync();
        var dataDir = Directory.CreateTempSubdirectory("codebuff-shipped-").FullName;
        var port = ServerProcess.FreePort();
        string[] command = launch == "dll"
            ? [Path.Combine(buildOutput, "Codebuff.Server.dll"), "--urls", $"http://127.0.0.1:{port}"]
            : ["run", "--no-build", "-c", configuration, "--project", Path.Combine(root, "src", "Codebuff.Server"), "--", "--urls", $"http://127.0.0.1:{port}"];
        var env = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = database,
            ["Codebuff__DataDir"] = dataDir,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        await using var server = ServerProcess.Start(command, root, env);
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        await WaitHealthyAsync(baseAddress, server);

        var session = await SignedInSessionAsync(database);
        await using var tab = await DashboardTab.OpenAsync(baseAddress, session, test: $"Shipped_{launch}");
        foreach (var path in new[] { "/login", "/store", "/profile?tab=api-keys" })
        {
            var response = await tab.GotoAsync(path);
            Assert.Equal(200, response!.Status);
            // The stylesheet applied (rules parsed) and Blazor's script ran (enhanced navigation and forms).
            Assert.True(await tab.Page.EvaluateAsync<bool>("() => [...document.styleSheets].some(s => s.cssRules.length > 0)"), $"{path} has no style rules");
            Assert.True(await tab.Page.EvaluateAsync<bool>("() => typeof window.Blazor === 'object'"), $"{path} did not run blazor.web.js");
        }
        await tab.AssetsCheckedAsync();
        Assert.Contains(tab.Assets, url => url.Contains("/app.") && url.EndsWith(".css", StringComparison.Ordinal));
        Assert.Contains(tab.Assets, url => url.EndsWith("/_framework/blazor.web.js", StringComparison.Ordinal));
        Assert.Contains(tab.Assets, url => url.Contains("/js/copy."));
    }

    /// <summary>A user and a web session written straight into the database (the child shares ServerProcess's auth secret).</summary>
    static async Task<string> SignedInSessionAsync(string database)
    {
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, database);
        await using var db = new AppDbContext(options.Options);
        var user = new User { Id = Guid.NewGuid().ToString(), Email = $"u{Guid.NewGuid():N}@example.com", Name = "Shipped" };
        var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        db.Users.Add(user);
        db.Sessions.Add(new Session
        {
            SessionToken = new TokenHasher("test-auth-secret").Hash(token), UserId = user.Id, Type = SessionType.Web, Expires = DateTime.UtcNow.AddDays(1),
        });
        await db.SaveChangesAsync();
        return token;
    }

    static async Task WaitHealthyAsync(Uri baseAddress, ServerProcess server)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await http.GetAsync("/api/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        server.Interrupt();
        var output = await server.WaitAsync(30);
        Assert.Fail($"the server never became healthy: {output.Stderr} {output.Stdout}");
    }
}
