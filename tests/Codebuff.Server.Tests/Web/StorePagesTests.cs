using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Orgs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Web;

/// <summary>The agent store, publisher pages and agent version pages, over agents published through the JSON API.</summary>
public sealed class StorePagesTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    /// <summary>Two agents of a fresh publisher: "zeta" (two versions, one completed run of 250 credits on the latest) and "alpha" (no runs).</summary>
    async Task<(TestUser User, string Pub, string Zeta, string Alpha, string Word)> PublishTwoAsync()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        var word = "w" + Guid.NewGuid().ToString("N")[..10];
        var (zeta, alpha) = ("zeta-" + word[..6], "alpha-" + word[..6]);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def(zeta, pub, new { displayName = "Zeta Reviewer", spawnerPrompt = $"Reviews code ({word})" }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def(zeta, pub, new { displayName = "Zeta Reviewer", spawnerPrompt = $"Reviews code carefully ({word})" }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def(alpha, pub, new { displayName = "Alpha Helper", spawnerPrompt = $"Helps ({word})" }))).StatusCode);

        var start = await BodyAsync(await client.PostAsJsonAsync("/api/v1/agent-runs", new { action = "START", agentId = $"{pub}/{zeta}@0.0.2", ancestorRunIds = Array.Empty<string>() }));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/agent-runs",
            new { action = "FINISH", runId = (string)start["runId"]!, status = "completed", totalSteps = 1, directCredits = 250, totalCredits = 250 })).StatusCode);
        return (user, pub, zeta, alpha, word);
    }

    static Task<string[]> CardsAsync(DashboardTab tab) =>
        tab.Page.Locator(".agent-card").EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.agent)");

    [Fact]
    public async Task The_store_says_how_to_publish_and_a_verified_badge_stands_apart_from_the_name()
    {
        await using var tab = await DashboardTab.OpenAsync(server);
        await tab.GotoAsync("/store?search=Codebuff&sort=name");
        // The navbar and the store both lead to making a publisher.
        Assert.Equal(1, await tab.Page.Locator("header nav a[href='/publishers']").CountAsync());
        Assert.Equal("create a publisher", (await tab.Page.InnerTextAsync("#how-to-publish a[href='/publishers/new']")).Trim());
        Assert.Contains("codebuff publish", await tab.Page.InnerTextAsync("#how-to-publish"));
        // The built-in agents' publisher is verified: its name, the badge and the version read as separate words.
        var publisher = (await tab.Page.Locator(".agent-card[data-agent^='codebuff/'] .publisher").First.InnerTextAsync()).Trim();
        Assert.Matches(@"^by Codebuff verified · v\d+\.\d+\.\d+$", publisher);
    }

    [Fact]
    public async Task A_published_agent_is_found_in_the_store_by_search_and_sorted_by_spend_or_name()
    {
        var (_, pub, zeta, alpha, word) = await PublishTwoAsync();
        await using var tab = await DashboardTab.OpenAsync(server);

        await tab.GotoAsync("/store");
        Assert.Equal("Agent store", await tab.HeadingAsync());
        // The GET form: search by a word of the description, default sort (weekly spend).
        await tab.Page.FillAsync("#search", word);
        await tab.Page.ClickAsync("form[role=search] button[type=submit]");
        // Commit, then what the new document shows: on a loaded CI machine neither the load event nor DOMContentLoaded
        // was reliably reported for a matched URL (here and in CreditsPagesTests); the locator waits for the document.
        await tab.Page.WaitForURLAsync(url => url.EndsWith($"/store?search={word}&sort=cost"), new() { WaitUntil = WaitUntilState.Commit });
        await tab.Page.Locator("#store-count", new() { HasTextString = "matching" }).WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Equal([$"{pub}/{zeta}", $"{pub}/{alpha}"], await CardsAsync(tab));
        Assert.Equal("2 agents matching “" + word + "”", (await tab.Page.InnerTextAsync("#store-count")).Trim());

        // Only the latest version is listed, with its publisher and usage.
        var card = tab.Page.Locator($".agent-card[data-agent='{pub}/{zeta}']");
        Assert.Equal("Zeta Reviewer", (await card.Locator("h2").InnerTextAsync()).Trim());
        Assert.Equal($"/publishers/{pub}/agents/{zeta}/0.0.2", await card.Locator("h2 a").GetAttributeAsync("href"));
        Assert.Contains("by Test Publisher", await card.Locator(".publisher").InnerTextAsync());
        Assert.Contains("v0.0.2", await card.Locator(".publisher").InnerTextAsync());
        Assert.Equal($"Reviews code carefully ({word})", await card.Locator(".description").InnerTextAsync());
        Assert.Equal(("1", "$2.50", "1"), (await card.Locator(".weekly-runs").InnerTextAsync(), await card.Locator(".weekly-spend").InnerTextAsync(),
            await card.Locator(".users").InnerTextAsync()));
        Assert.NotEqual("—", await card.Locator(".last-used").InnerTextAsync());
        Assert.Equal("0", await tab.Page.Locator($".agent-card[data-agent='{pub}/{alpha}'] .weekly-runs").InnerTextAsync());

        // Sorted by name instead, chosen in the form.
        await tab.Page.SelectOptionAsync("#sort", "name");
        await tab.Page.ClickAsync("form[role=search] button[type=submit]");
        await tab.Page.WaitForURLAsync(url => url.EndsWith("sort=name"), new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(tab.Page.Locator(".agent-card").First).ToHaveAttributeAsync("data-agent", $"{pub}/{alpha}");
        await tab.ScreenshotAsync();
        Assert.Equal([$"{pub}/{alpha}", $"{pub}/{zeta}"], await CardsAsync(tab));
        Assert.Equal("name", await tab.Page.InputValueAsync("#sort"));

        // The publisher's name finds them too; nonsense finds nothing; an unknown sort is refused with a message.
        await tab.GotoAsync($"/store?search={pub}&sort=usage");
        Assert.Equal([$"{pub}/{zeta}", $"{pub}/{alpha}"], await CardsAsync(tab));
        await tab.GotoAsync($"/store?search=nothing-{word}");
        Assert.Empty(await CardsAsync(tab));
        var bad = await tab.GotoAsync("/store?sort=loudest");
        Assert.Equal(400, bad!.Status);
        Assert.Contains("Unknown sort “loudest”", await tab.Page.InnerTextAsync("[role=alert]"));
    }

    [Fact]
    public async Task The_store_search_matches_tags_and_shows_them()
    {
        var user = await server.CreateUserAsync();
        var pub = await CreatePublisherAsync(server, user);
        var tag = "tag" + Guid.NewGuid().ToString("N")[..8];
        // Publishing keeps only the SDK template's fields; tags come from definitions stored by other means (as upstream's).
        await using (var db = server.NewDbContext())
        {
            db.AgentConfigs.Add(new AgentConfig
            {
                Id = "tagged", Version = "1.0.0", PublisherId = pub, CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
                Data = new JsonObject { ["id"] = "tagged", ["displayName"] = "Tagged", ["description"] = "Has tags", ["tags"] = new JsonArray("review", tag) }.ToJsonString(),
            });
            await db.SaveChangesAsync();
        }
        await using var tab = await DashboardTab.OpenAsync(server);
        await tab.GotoAsync($"/store?search={tag.ToUpperInvariant()}");
        Assert.Equal([$"{pub}/tagged"], await CardsAsync(tab));
        Assert.Equal(["review", tag], await tab.Page.Locator(".agent-card .tags li").AllInnerTextsAsync());
        Assert.Equal("Has tags", await tab.Page.InnerTextAsync(".agent-card .description"));
    }

    [Fact]
    public async Task The_version_page_shows_usage_versions_definition_and_the_save_command()
    {
        var (_, pub, zeta, _, word) = await PublishTwoAsync();
        await using var tab = await DashboardTab.OpenAsync(server);
        await tab.GotoAsync($"/store?search={word}");
        await tab.Page.ClickAsync($".agent-card[data-agent='{pub}/{zeta}'] h2 a");
        await Assertions.Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Zeta Reviewer");
        Assert.EndsWith($"/publishers/{pub}/agents/{zeta}/0.0.2", tab.Page.Url);
        await tab.ScreenshotAsync();

        Assert.Equal("Zeta Reviewer", await tab.HeadingAsync());
        Assert.Equal("Zeta Reviewer · Codebuff", await tab.Page.TitleAsync());
        Assert.Equal(("1", "1", "$2.50", "1", "$2.50", "$2.50"), (await Text(tab, "#total-runs"), await Text(tab, "#weekly-runs"), await Text(tab, "#weekly-spend"),
            await Text(tab, "#unique-users"), await Text(tab, "#avg-cost"), await Text(tab, "#total-spend")));
        Assert.NotEqual("—", await Text(tab, "#last-used"));
        Assert.Equal(["v0.0.2", "v0.0.1"], await tab.Page.Locator("#versions tbody td:first-child a").AllInnerTextsAsync());
        Assert.Equal(["Latest"], await tab.Page.Locator("#versions tbody tr:first-child .badge").AllInnerTextsAsync());
        Assert.Equal(1, await tab.Page.Locator("#versions .badge").CountAsync());
        Assert.Equal(["1", "0"], await tab.Page.Locator("#versions tbody td.num").AllInnerTextsAsync());
        var definition = JsonNode.Parse(await tab.Page.InnerTextAsync("#definition"))!;
        Assert.Equal((zeta, "0.0.2", $"Reviews code carefully ({word})"), ((string?)definition["id"], (string?)definition["version"], (string?)definition["spawnerPrompt"]));
        Assert.Equal($"{pub}/{zeta}@0.0.2", await Text(tab, "#agent-id"));
        Assert.Equal($"codebuff --agent {pub}/{zeta}@0.0.2", await Text(tab, "#run-command"));
        Assert.Equal($"codebuff save-agent {pub}/{zeta}@0.0.2", await Text(tab, "#save-command"));

        // The copy button puts the command on the clipboard.
        await tab.Page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = server.BaseAddress.GetLeftPart(UriPartial.Authority) });
        await tab.Page.ClickAsync("#save-command + button");
        await Assertions.Expect(tab.Page.Locator("#save-command + button")).ToHaveTextAsync("Copied");
        Assert.Equal($"codebuff save-agent {pub}/{zeta}@0.0.2", await tab.Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));

        // The older version has no runs; the bare agent path goes to the newest version.
        await tab.GotoAsync($"/publishers/{pub}/agents/{zeta}/0.0.1");
        Assert.Equal(("0", "0", "—"), (await Text(tab, "#total-runs"), await Text(tab, "#unique-users"), await Text(tab, "#last-used")));
        await tab.GotoAsync($"/publishers/{pub}/agents/{zeta}");
        Assert.EndsWith($"/publishers/{pub}/agents/{zeta}/0.0.2", tab.Page.Url);
        Assert.Equal("Zeta Reviewer", await tab.HeadingAsync());
    }

    static async Task<string> Text(DashboardTab tab, string selector) => (await tab.Page.InnerTextAsync(selector)).Trim();

    [Fact]
    public async Task The_publisher_page_lists_its_agents_and_unknown_publishers_agents_and_versions_are_404()
    {
        var (_, pub, zeta, alpha, _) = await PublishTwoAsync();
        await using var tab = await DashboardTab.OpenAsync(server);
        await tab.GotoAsync($"/publishers/{pub}");
        Assert.Equal("Test Publisher", await tab.HeadingAsync());
        Assert.Equal($"@{pub}", await Text(tab, "#publisher-id"));
        Assert.Equal([alpha, zeta], await tab.Page.Locator(".agent-card").EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.agent)"));
        var card = tab.Page.Locator($".agent-card[data-agent='{zeta}']");
        Assert.Contains("Latest: v0.0.2 · 2 versions", await card.InnerTextAsync());
        Assert.Equal($"/publishers/{pub}/agents/{zeta}/0.0.2", await card.Locator("h3 a").GetAttributeAsync("href"));

        foreach (var (path, heading) in new[]
        {
            ("/publishers/no-such-publisher", "Publisher not found"),
            ($"/publishers/{pub}/agents/no-such-agent", "Agent not found"),
            ($"/publishers/{pub}/agents/{zeta}/9.9.9", "Agent not found"),
        })
        {
            var response = await tab.GotoAsync(path);
            Assert.Equal(404, response!.Status);
            Assert.Equal(heading, await tab.HeadingAsync());
        }
    }

    [Fact]
    public async Task A_publisher_is_created_through_the_form_for_an_org_the_user_owns()
    {
        var user = await server.CreateUserAsync();
        var org = await CreateOrgAsync(server, user);
        var taken = await CreatePublisherAsync(server, user);
        await using var tab = await DashboardTab.OpenAsync(server, user);

        await tab.GotoAsync($"/publishers/new?org={org}");
        Assert.Equal("Create a publisher", await tab.HeadingAsync());
        Assert.True(await tab.Page.IsCheckedAsync($"input[name='Form.Owner'][value='{org}']"));

        // Bad and taken ids are refused beside the field, with the API's messages, and nothing is written.
        await tab.Page.FillAsync("#publisher-name", "Org Agents");
        await tab.Page.FillAsync("#publisher-id", "Bad_Id");
        await tab.Page.EvalOnSelectorAsync("#publisher-id", "e => e.removeAttribute('pattern')");
        await SubmitAsync(tab);
        await Assertions.Expect(tab.Page.Locator("#id-error")).ToHaveTextAsync("Publisher ID must contain only lowercase letters, numbers, and hyphens");
        await tab.ScreenshotAsync();
        Assert.Contains("Publisher ID must contain only lowercase letters, numbers, and hyphens", await tab.Page.InnerTextAsync("[role=alert]"));
        Assert.Equal("Org Agents", await tab.Page.InputValueAsync("#publisher-name"));
        await tab.Page.FillAsync("#publisher-id", taken);
        await SubmitAsync(tab);
        await Assertions.Expect(tab.Page.Locator("#id-error")).ToHaveTextAsync("This publisher ID is already taken");

        var id = NewId("orgpub");
        await tab.Page.FillAsync("#publisher-id", id);
        await tab.Page.FillAsync("#publisher-bio", "Agents of our org");
        await SubmitAsync(tab);
        await Assertions.Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Org Agents");
        Assert.EndsWith($"/publishers/{id}", tab.Page.Url);
        await tab.ScreenshotAsync();
        Assert.Equal("Org Agents", await tab.HeadingAsync());
        Assert.Equal("Agents of our org", await Text(tab, "#bio"));

        await using (var db = server.NewDbContext())
        {
            var row = await db.Publishers.AsNoTracking().SingleAsync(p => p.Id == id);
            Assert.Equal(("Org Agents", (string?)null, org, user.Id, "Agents of our org"), (row.Name, row.UserId, row.OrgId, row.CreatedBy, row.Bio));
            Assert.False(await db.Publishers.AnyAsync(p => p.Name == "Org Agents" && p.Id != id));
        }

        await tab.GotoAsync("/publishers");
        Assert.Equal("Publishers", await tab.HeadingAsync());
        Assert.Equal([taken], await tab.Page.Locator("#mine + div .publisher-card").EvaluateAllAsync<string[]>("c => c.map(x => x.dataset.publisher)"));
        Assert.Equal([id], await tab.Page.Locator("#org-publishers + div .publisher-card").EvaluateAllAsync<string[]>("c => c.map(x => x.dataset.publisher)"));
    }

    /// <summary>Submits the form and waits for the answer to its (enhanced) post.</summary>
    static Task SubmitAsync(DashboardTab tab) =>
        tab.Page.RunAndWaitForResponseAsync(() => tab.Page.ClickAsync("#create-publisher"), r => r.Request.Method == "POST");

    [Fact]
    public async Task Publisher_pages_of_your_own_need_sign_in()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        foreach (var path in new[] { "/publishers", "/publishers/new?org=x" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.EndsWith("/login?next=" + Uri.EscapeDataString(path), response.Headers.Location?.OriginalString);
        }
    }
}
