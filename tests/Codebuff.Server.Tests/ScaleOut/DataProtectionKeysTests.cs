using System.Net;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Web;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.ScaleOut;

/// <summary>
/// The dashboard's antiforgery tokens are protected by ASP.NET Core Data Protection. Two hosts behind a load balancer
/// (here: two server processes with different home folders, where Data Protection keeps its keys by default) must
/// accept each other's tokens, and so must a redeployed instance in a fresh container.
/// </summary>
public sealed class DataProtectionKeysTests(DataProtectionKeysTests.Database database)
    : IClassFixture<DataProtectionKeysTests.Database>, IAsyncLifetime
{
    /// <summary>The database, its users and sessions; its in-process server shares the processes' secrets.</summary>
    public sealed class Database : ServerFixture
    {
        protected override Dictionary<string, string?> Settings()
        {
            var s = base.Settings();
            s["Codebuff:Byok:MasterKey"] = "test-byok-master-key"; // ServerProcess's: instances on one database share it
            return s;
        }
    }

    readonly List<string> _folders = [];
    readonly List<ServerProcess> _processes = [];

    [Fact]
    public async Task A_form_served_by_one_host_is_accepted_by_another_and_by_a_redeployed_one_and_its_change_is_made()
    {
        var a = await StartHostAsync();
        var b = await StartHostAsync();
        var user = await database.CreateUserAsync();
        // Cookies ignore ports: the one container carries the session and the antiforgery cookie to every instance.
        using var browser = PageForms.Client(a, webSession: await database.WebSessionTokenAsync(user));
        var token = await PageForms.TokenAsync(browser, "/profile?tab=account");

        var handle = "h" + Guid.NewGuid().ToString("N")[..10];
        var (status, page) = await PageForms.PostAsync(browser, new Uri(b, "/profile?tab=account").ToString(), "handle",
            new Dictionary<string, string> { ["Handle.Value"] = handle }, token);
        Assert.True(status == HttpStatusCode.OK, $"instance B refused instance A's form: {(int)status} {page}");
        Assert.Equal(handle, await HandleAsync(user));
        // The ring is in the database, not in any host's home folder, and no instance printed a key.
        await using (var db = database.NewDbContext())
            Assert.True(await db.Database.SqlQueryRaw<long>("SELECT count(*) AS \"Value\" FROM service.data_protection_key").SingleAsync() > 0);
        Assert.All(_folders, home => Assert.False(Directory.Exists(Path.Combine(home, ".aspnet")), home));
        Assert.All(_processes, p => Assert.DoesNotContain("<masterKey", p.OutputSoFar));

        // A redeploy: every instance replaced by one in a fresh container, the form still open in the browser.
        foreach (var p in _processes) await p.DisposeAsync();
        _processes.Clear();
        var c = await StartHostAsync();
        var renamed = handle + "x";
        (status, page) = await PageForms.PostAsync(browser, new Uri(c, "/profile?tab=account").ToString(), "handle",
            new Dictionary<string, string> { ["Handle.Value"] = renamed }, token);
        Assert.True(status == HttpStatusCode.OK, $"the redeployed instance refused a form served before: {(int)status} {page}");
        Assert.Equal(renamed, await HandleAsync(user));
    }

    async Task<string?> HandleAsync(TestUser user)
    {
        await using var db = database.NewDbContext();
        return (await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id)).Handle;
    }

    /// <summary>A server process on the fixture's database as on its own host: its own home and data folders.</summary>
    async Task<Uri> StartHostAsync()
    {
        var home = Path.Combine(Path.GetTempPath(), "cb-host-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(home);
        _folders.Add(home);
        var port = ServerProcess.FreePort();
        var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = database.ConnectionString,
            ["HOME"] = home,
            ["Codebuff__DataDir"] = Path.Combine(home, "data"),
            ["Codebuff__SeedBuiltinAgents"] = "false",
        });
        _processes.Add(server);
        var address = new Uri($"http://127.0.0.1:{port}");
        using var http = new HttpClient { BaseAddress = address };
        // Each process JIT-compiles the whole server: minutes when the machine is shared with other builds.
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await http.GetAsync("/api/healthz")).IsSuccessStatusCode) return address;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        Assert.Fail($"the instance on port {port} never became healthy: {server.OutputSoFar}");
        return address;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var p in _processes) await p.DisposeAsync();
        foreach (var dir in _folders.Where(Directory.Exists)) Directory.Delete(dir, recursive: true);
    }
}
