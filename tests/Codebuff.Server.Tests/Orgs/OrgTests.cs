using Codebuff.Server.Data;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

using static Codebuff.Server.Tests.Orgs.OrgHttp;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>Creating, listing, reading, updating and deleting organizations; repository URLs.</summary>
public sealed class OrgTests(OrgFixture server) : IClassFixture<OrgFixture>
{

    [Theory]
    [InlineData("Acme Corp", "acme-corp")]
    [InlineData("  Hello -- World_v2.0  ", "hello-worldv20")]
    [InlineData("Ünïcode Team", "ncode-team")]
    public void Slugs_follow_the_upstream_rule(string name, string slug) => Assert.Equal(slug, OrgNames.BaseSlug(name));

    [Theory]
    [InlineData(null, "Organization name is required")]
    [InlineData("ab", "Organization name must be at least 3 characters")]
    [InlineData("a-very-long-organization-name-that-goes-on-and-on-x", "Organization name must be at most 50 characters")]
    [InlineData("Acme/Corp", "Organization name can only contain letters, numbers, spaces, hyphens, underscores and periods")]
    [InlineData("...", "Organization name must contain at least one letter or number")]
    public async Task Bad_names_are_400_with_the_reason_and_create_nothing(string? name, string message)
    {
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).PostAsJsonAsync("/api/orgs", new { name });
        Assert.Equal((HttpStatusCode.BadRequest, E(message)), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        await using var db = server.NewDbContext();
        Assert.False(await db.Orgs.AnyAsync(o => o.OwnerId == user.Id));
    }

    [Fact]
    public async Task Create_takes_the_next_free_slug_makes_the_creator_owner_and_sets_defaults()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var name = "Slug Clash " + Guid.NewGuid().ToString("N")[..6];
        var slugs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var response = await client.PostAsJsonAsync("/api/orgs", new { name, description = "team" });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            slugs.Add((string)json["slug"]!);
            Assert.Equal((name, "team", user.Id, true, 20000, 5000), ((string?)json["name"], (string?)json["description"], (string?)json["owner_id"],
                (bool)json["auto_topup_enabled"]!, (int)json["auto_topup_amount"]!, (int)json["auto_topup_threshold"]!));
        }
        var slug = OrgNames.BaseSlug(name);
        Assert.Equal([slug, slug + "-1", slug + "-2"], slugs);

        var list = (await client.GetFromJsonAsync<JsonObject>("/api/orgs"))!["organizations"]!.AsArray();
        Assert.Equal(3, list.Count);
        Assert.All(list, o => Assert.Equal(("owner", 1, 0), ((string)o!["role"]!, (int)o["memberCount"]!, (int)o["repositoryCount"]!)));
    }

    [Fact]
    public async Task An_org_named_like_a_dashboard_page_gets_a_slug_that_does_not_hide_it()
    {
        // /orgs/new is the creation page, so an org slugged "new" could never be opened in the dashboard.
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).PostAsJsonAsync("/api/orgs", new { name = "New" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(("New", "new-1"), ((string?)created["name"], (string?)created["slug"]));
        var bySlug = (await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/orgs/slug/new-1"))!;
        Assert.Equal(((string?)created["id"], "owner"), ((string?)bySlug["id"], (string?)bySlug["userRole"]));
    }

    [Fact]
    public async Task Counts_read_by_slug_and_delete_refused_while_a_publisher_exists()
    {
        var owner = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner, (member, OrgRole.Member));
        await server.AddRepoAsync(org, owner, "https://github.com/acme/one");
        await server.AddRepoAsync(org, owner, "https://github.com/acme/two", active: false);
        await server.GrantOrgCreditsAsync(org, owner, 321);

        var bySlug = (await server.ClientFor(member).GetFromJsonAsync<JsonObject>($"/api/orgs/slug/{org.Slug}"))!;
        Assert.Equal((org.Id, "member", 2, 1, 321, false, owner.Id), ((string?)bySlug["id"], (string?)bySlug["userRole"], (int)bySlug["memberCount"]!,
            (int)bySlug["repositoryCount"]!, (int)bySlug["creditBalance"]!, (bool)bySlug["hasStripeSubscription"]!, (string?)bySlug["owner_id"]));

        await using (var db = server.NewDbContext())
        {
            db.Publishers.Add(new Publisher { Id = "pub-" + Guid.NewGuid().ToString("N")[..8], Name = "Org Pub", OrgId = org.Id, CreatedBy = owner.Id, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }
        var refused = await server.ClientFor(owner).DeleteAsync($"/api/orgs/{org.Id}");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("still owns publishers", await refused.Content.ReadAsStringAsync());
        await using (var db = server.NewDbContext())
        {
            Assert.True(await db.Orgs.AnyAsync(o => o.Id == org.Id));
            await db.Publishers.Where(p => p.OrgId == org.Id).ExecuteDeleteAsync();
        }
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(owner).DeleteAsync($"/api/orgs/{org.Id}")).StatusCode);
        await using (var db = server.NewDbContext())
            Assert.False(await db.CreditLedger.AnyAsync(g => g.OrgId == org.Id)); // cascaded with the org
    }

    [Fact]
    public async Task Settings_are_validated_and_nothing_changes_on_an_error()
    {
        var owner = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        var client = server.ClientFor(owner);
        var bad = await client.PatchAsJsonAsync($"/api/orgs/{org.Id}/settings", new { creditLimit = 10, autoTopupAmount = 100 });
        Assert.Equal((HttpStatusCode.BadRequest, E("autoTopupAmount must be a whole number from 500 to 100000")), (bad.StatusCode, await bad.Content.ReadAsStringAsync()));
        var notJson = await client.PatchAsync($"/api/orgs/{org.Id}/settings", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode.BadRequest, E("Invalid JSON in request body")), (notJson.StatusCode, await notJson.Content.ReadAsStringAsync()));

        var ok = await client.PatchAsJsonAsync($"/api/orgs/{org.Id}/settings", new { creditLimit = (int?)null, autoTopupEnabled = false, usageAlerts = false });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var settings = (await client.GetFromJsonAsync<JsonObject>($"/api/orgs/{org.Id}/settings"))!;
        Assert.Equal((false, false, true, (int?)null), ((bool)settings["autoTopupEnabled"]!, (bool)settings["usageAlerts"]!, (bool)settings["billingAlerts"]!, (int?)settings["creditLimit"]));
    }

    [Theory]
    [InlineData("https://github.com/Acme/App.git", "https://github.com/acme/app")]
    [InlineData("git@github.com:acme/app.git", "https://github.com/acme/app")]
    [InlineData("github.com/acme/app/tree/main/src", "https://github.com/acme/app")]
    [InlineData("  https://www.gitlab.com/Group/Proj  ", "https://gitlab.com/group/proj")]
    [InlineData("ssh://git@bitbucket.org/team/repo.git", "https://bitbucket.org/team/repo")]
    public void Repository_urls_normalise(string url, string normal) => Assert.Equal(normal, RepoUrls.Parse(url)!.Url);

    [Fact]
    public async Task Adding_repositories_normalises_refuses_other_hosts_and_duplicates()
    {
        var owner = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        var client = server.ClientFor(owner);
        async Task<(HttpStatusCode, string)> Add(string url)
        {
            var r = await client.PostAsJsonAsync($"/api/orgs/{org.Id}/repos", new { repository_url = url, repository_name = "app" });
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.Created, (await Add("https://github.com/Acme/App")).Item1);
        Assert.Equal((HttpStatusCode.Conflict, E("Repository already added to organization")), await Add("git@github.com:acme/app.git"));
        Assert.Equal((HttpStatusCode.BadRequest, E("Repository domain not allowed")), await Add("https://example.com/acme/app"));
        Assert.Equal((HttpStatusCode.BadRequest, E("Invalid URL format")), await Add("https://github.com/acme"));
        var missing = await client.PatchAsJsonAsync($"/api/orgs/{org.Id}/repos/{Guid.NewGuid()}", new { isActive = false });
        Assert.Equal((HttpStatusCode.NotFound, E("Repository not found")), (missing.StatusCode, await missing.Content.ReadAsStringAsync()));
        await using var db = server.NewDbContext();
        Assert.Equal(["https://github.com/acme/app"], await db.OrgRepos.Where(r => r.OrgId == org.Id).Select(r => r.RepoUrl).ToListAsync());
    }

    [Fact]
    public async Task Admin_grant_org_adds_organization_credits_by_slug()
    {
        var owner = await server.CreateUserAsync();
        var org = await server.CreateOrgAsync(owner);
        var env = new Dictionary<string, string?> { ["ConnectionStrings__Default"] = server.ConnectionString };
        var run = await ServerProcess.RunAsync(["admin", "grant", "--org", org.Slug, "--credits", "2500"], env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(2500, (int)JsonNode.Parse(run.Stdout)!["totalRemaining"]!);
        await using (var db = server.NewDbContext())
        {
            var grant = await db.CreditLedger.SingleAsync(g => g.OrgId == org.Id);
            Assert.Equal((GrantType.Organization, 2500, 2500, 70, owner.Id, (DateTime?)null), (grant.Type, grant.Principal, grant.Balance, grant.Priority, grant.UserId, grant.ExpiresAt));
            Assert.StartsWith($"org-{org.Id}-", grant.OperationId);
        }
        Assert.Equal(0, await server.PersonalBalanceAsync(owner));

        var unknown = await ServerProcess.RunAsync(["admin", "grant", "--org", "no-such-org", "--credits", "5"], env);
        Assert.Equal((2, "error: no organization with slug no-such-org"), (unknown.ExitCode, unknown.Stderr.Trim()));
        var both = await ServerProcess.RunAsync(["admin", "grant", "--org", org.Slug, "--email", owner.Email, "--credits", "5"], env);
        Assert.Equal((2, "error: give either --email or --org"), (both.ExitCode, both.Stderr.Trim()));
    }
}
