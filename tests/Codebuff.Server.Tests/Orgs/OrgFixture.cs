using System.Collections.Concurrent;
using Codebuff.Server.Auth;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>
/// The server with a fake LLM provider, a fake search provider, a settable clock, one configured site admin and an
/// e-mail sender that keeps what it was asked to send.
/// </summary>
public class OrgFixture : ChatFixture
{
    public const string SiteAdminEmail = "Root@Example.com";
    WebApplication? _search;
    string _searchUrl = "";

    public FakeClock Clock { get; } = new(DateTimeOffset.UtcNow);
    public ConcurrentQueue<EmailMessage> Emails { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Admins:0"] = "someone-else@example.com";
        s["Codebuff:Admins:1"] = SiteAdminEmail.ToLowerInvariant(); // matched case-insensitively
        s["Codebuff:Search:WebBaseUrl"] = _searchUrl;
        s["Codebuff:Search:DocsBaseUrl"] = _searchUrl;
        // These tests are about who pays, not about stalled providers: a loaded machine must not cut streams short.
        s["Codebuff:Upstream:IdleTimeoutSeconds"] = "120";
        s["Codebuff:Chat:HeartbeatSeconds"] = "30";
        return s;
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Clock);
        services.AddSingleton<IEmailSender>(new CapturingEmailSender(Emails));
    }

    public override async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _search = builder.Build();
        _search.MapPost("/search", (JsonObject body) => new { result = $"results for {body["query"]}" });
        _search.MapPost("/docs", (JsonObject body) => new { documentation = $"docs for {body["libraryTitle"]}" });
        await _search.StartAsync();
        _searchUrl = _search.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_search is not null) await _search.DisposeAsync();
    }

    /// <summary>An org created through the API by <paramref name="owner"/>, with the given users added directly with their roles.</summary>
    public async Task<TestOrg> CreateOrgAsync(TestUser owner, params (TestUser User, OrgRole Role)[] members)
    {
        var name = "Org " + Guid.NewGuid().ToString("N")[..10];
        var response = await ClientFor(owner).PostAsJsonAsync("/api/orgs", new { name });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var org = new TestOrg((string)json["id"]!, (string)json["slug"]!, name);
        await using var db = NewDbContext();
        foreach (var (user, role) in members)
            db.OrgMembers.Add(new OrgMember { OrgId = org.Id, UserId = user.Id, Role = role, JoinedAt = DateTime.UtcNow });
        await db.SaveChangesAsync();
        return org;
    }

    /// <summary>An active (or inactive) repository of the org, written straight to the table in its normal form.</summary>
    public async Task<string> AddRepoAsync(TestOrg org, TestUser approver, string url, bool active = true)
    {
        var repo = RepoUrls.Parse(url)!;
        await using var db = NewDbContext();
        var row = new OrgRepo
        {
            Id = Guid.NewGuid().ToString(), OrgId = org.Id, RepoUrl = repo.Url, RepoName = repo.Name, RepoOwner = repo.Owner,
            ApprovedBy = approver.Id, ApprovedAt = DateTime.UtcNow, IsActive = active,
        };
        db.OrgRepos.Add(row);
        await db.SaveChangesAsync();
        return row.Id;
    }

    public async Task GrantOrgCreditsAsync(TestOrg org, TestUser payer, int credits)
    {
        await using var scope = Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.Org(org.Id), $"org-{org.Id}-{Guid.NewGuid():N}",
            payer.Id, credits, GrantType.Organization, "test credits", null);
    }

    /// <summary>A second, independent server (own DI container and connection pool) on the same database and fakes.</summary>
    public Task<WebApplication> StartSecondServerAsync() => StartServerAsync(ConnectionString, Settings(), ConfigureServices);

    /// <summary>Σ balance of the org's grants (its ledger, debt included).</summary>
    public async Task<int> OrgBalanceAsync(TestOrg org)
    {
        await using var db = NewDbContext();
        return await db.CreditLedger.Where(g => g.OrgId == org.Id).SumAsync(g => g.Balance);
    }

    /// <summary>Σ balance of the user's personal grants.</summary>
    public async Task<int> PersonalBalanceAsync(TestUser user)
    {
        await using var db = NewDbContext();
        return await db.CreditLedger.Where(g => g.UserId == user.Id && g.OrgId == null).SumAsync(g => g.Balance);
    }

    readonly SemaphoreSlim _siteAdminGate = new(1, 1);
    TestUser? _siteAdmin;

    /// <summary>The one user whose e-mail is listed in Codebuff:Admins (e-mails are unique, so it is created once).</summary>
    public async Task<TestUser> SiteAdminAsync()
    {
        await _siteAdminGate.WaitAsync();
        try { return _siteAdmin ??= await CreateUserAsync(email: SiteAdminEmail); }
        finally { _siteAdminGate.Release(); }
    }

    /// <summary>Users added directly who have not accepted yet (service.org_member_pending): user id and role offered.</summary>
    public async Task<List<(string UserId, string Role)>> PendingAsync(TestOrg org)
    {
        await using var db = NewDbContext();
        var rows = await db.Database.SqlQuery<string>($"SELECT user_id || ':' || role::text AS \"Value\" FROM service.org_member_pending WHERE org_id = {org.Id} ORDER BY user_id").ToListAsync();
        return rows.Select(r => r.Split(':') is [var user, var role] ? (user, role) : throw new InvalidOperationException(r)).ToList();
    }

    public async Task<List<OrgMember>> MembersAsync(TestOrg org)
    {
        await using var db = NewDbContext();
        return await db.OrgMembers.AsNoTracking().Where(m => m.OrgId == org.Id).OrderBy(m => m.UserId).ToListAsync();
    }
}

public sealed record TestOrg(string Id, string Slug, string Name);

static class OrgHttp
{
    /// <summary>The exact body of an {"error"} answer.</summary>
    public static string E(string message) => JsonSerializer.Serialize(new { error = message });

    public static async Task<(HttpStatusCode, string)> SendAsync(this HttpClient client, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
