using Codebuff.Server.Data;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>
/// Which calls an org pays for (api.md §7.9): a chat completion carrying codebuff_metadata.repo_url, or a search carrying
/// repoUrl, that names an active repository of an org the caller belongs to is charged to that org and recorded with
/// org and repository; anything else is personal; an org that cannot pay refuses, and the member's credits stay put.
/// </summary>
public sealed class OrgBillingTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    const int Pricey = 53; // the fake provider's "pricey" models cost $0.50 → 53 credits

    static JsonObject Chat(string runId, string? repoUrl, string model = "anthropic/pricey", bool stream = true)
    {
        var body = ChatFixture.ChatBody(model, runId, stream);
        if (repoUrl is not null) body["codebuff_metadata"]!["repo_url"] = repoUrl;
        return body;
    }

    async Task<(HttpStatusCode Status, string Text)> ChatAsync(TestUser user, string? repoUrl, bool stream = true)
    {
        using var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var response = await client.PostChatAsync(Chat(runId, repoUrl, stream: stream));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    async Task<Message> SingleMessageAsync(TestUser user)
    {
        var messages = await server.WaitForMessagesAsync(user.Id, 1);
        return Assert.Single(messages);
    }

    [Fact]
    public async Task A_repository_picks_the_paying_org_among_two_and_the_message_records_it()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var alpha = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        var beta = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(alpha, dev, "https://github.com/acme/app");
        await server.AddRepoAsync(beta, dev, "https://gitlab.com/beta/lib");
        await server.GrantOrgCreditsAsync(alpha, dev, 500);
        await server.GrantOrgCreditsAsync(beta, dev, 700);

        // Another spelling of alpha's repository: ssh, mixed case, ".git".
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "git@github.com:Acme/App.git")).Status);
        var first = await SingleMessageAsync(dev);
        Assert.Equal((alpha.Id, "https://github.com/acme/app", Pricey), (first.OrgId, first.RepoUrl, first.Credits));
        Assert.Equal((500 - Pricey, 700, 1000), (await server.OrgBalanceAsync(alpha), await server.OrgBalanceAsync(beta), await server.PersonalBalanceAsync(dev)));

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "https://gitlab.com/beta/lib/-/tree/main", stream: false)).Status);
        var second = (await server.WaitForMessagesAsync(dev.Id, 2)).Single(m => m.Id != first.Id);
        Assert.Equal((beta.Id, "https://gitlab.com/beta/lib"), (second.OrgId, second.RepoUrl));
        Assert.Equal((500 - Pricey, 700 - Pricey, 1000), (await server.OrgBalanceAsync(alpha), await server.OrgBalanceAsync(beta), await server.PersonalBalanceAsync(dev)));

        // The same owner and name on another host is another repository: personal.
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "https://bitbucket.org/acme/app")).Status);
        var third = (await server.WaitForMessagesAsync(dev.Id, 3)).Single(m => m.Id != first.Id && m.Id != second.Id);
        Assert.Equal(((string?)null, (string?)null), (third.OrgId, third.RepoUrl));
        Assert.Equal(1000 - Pricey, await server.PersonalBalanceAsync(dev));
    }

    [Fact]
    public async Task An_inactive_repository_or_an_org_the_caller_is_not_in_bills_personally()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var owner = await server.CreateUserAsync();
        var mine = await server.CreateOrgAsync(owner, (dev, OrgRole.Admin));
        var theirs = await server.CreateOrgAsync(owner);
        await server.AddRepoAsync(mine, owner, "https://github.com/acme/paused", active: false);
        await server.AddRepoAsync(theirs, owner, "https://github.com/acme/secret");
        await server.GrantOrgCreditsAsync(mine, owner, 500);
        await server.GrantOrgCreditsAsync(theirs, owner, 500);

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "https://github.com/acme/paused")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "https://github.com/acme/secret", stream: false)).Status);

        var messages = await server.WaitForMessagesAsync(dev.Id, 2);
        Assert.Equal(2, messages.Count);
        Assert.All(messages, m => Assert.Equal(((string?)null, (string?)null), (m.OrgId, m.RepoUrl)));
        Assert.Equal((1000 - 2 * Pricey, 500, 500), (await server.PersonalBalanceAsync(dev), await server.OrgBalanceAsync(mine), await server.OrgBalanceAsync(theirs)));
    }

    [Fact]
    public async Task An_org_without_credits_refuses_with_402_and_never_touches_the_members_credits()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var org = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(org, dev, "https://github.com/broke/app");
        var providerCalls = server.Upstream.Requests.Count;

        var chat = await ChatAsync(dev, "https://github.com/broke/app");
        Assert.Equal((HttpStatusCode.PaymentRequired, """{"message":"Insufficient organization credits"}"""), chat);

        using var client = server.ClientFor(dev);
        var search = await client.PostAsJsonAsync("/api/v1/web-search", new { query = "x", repoUrl = "https://github.com/broke/app" });
        Assert.Equal((HttpStatusCode.PaymentRequired, """{"message":"Insufficient organization credits","totalRemaining":0,"required":1}"""),
            (search.StatusCode, await search.Content.ReadAsStringAsync()));

        Assert.Equal(providerCalls, server.Upstream.Requests.Count);
        Assert.Empty(await server.MessagesAsync(dev.Id));
        Assert.Equal(1000, await server.PersonalBalanceAsync(dev));
        await using var db = server.NewDbContext();
        Assert.False(await db.CreditLedger.AnyAsync(g => g.OrgId == org.Id));
    }

    [Fact]
    public async Task The_monthly_credit_limit_stops_org_spending_once_reached()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var org = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(org, dev, "https://github.com/capped/app");
        await server.GrantOrgCreditsAsync(org, dev, 5000);
        await using (var db = server.NewDbContext())
            await db.Orgs.Where(o => o.Id == org.Id).ExecuteUpdateAsync(s => s.SetProperty(o => o.CreditLimit, 100));

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "https://github.com/capped/app")).Status); // 53 spent
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(dev, "https://github.com/capped/app")).Status); // 106 spent: over the cap now
        Assert.Equal((HttpStatusCode.PaymentRequired, """{"message":"Organization monthly credit limit reached"}"""), await ChatAsync(dev, "https://github.com/capped/app"));

        Assert.Equal(2, (await server.WaitForMessagesAsync(dev.Id, 2)).Count);
        Assert.Equal((5000 - 2 * Pricey, 1000), (await server.OrgBalanceAsync(org), await server.PersonalBalanceAsync(dev)));
    }

    [Fact]
    public async Task Searches_with_an_org_repository_are_charged_to_the_org()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var org = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(org, dev, "https://github.com/search/app");
        await server.GrantOrgCreditsAsync(org, dev, 100);
        using var client = server.ClientFor(dev);

        var web = await client.PostAsJsonAsync("/api/v1/web-search", new { query = "dotnet", depth = "deep", repoUrl = "https://github.com/search/app" });
        Assert.Equal((HttpStatusCode.OK, """{"result":"results for dotnet","creditsUsed":5}"""), (web.StatusCode, await web.Content.ReadAsStringAsync()));
        var docs = await client.PostAsJsonAsync("/api/v1/docs-search", new { libraryTitle = "react", repoUrl = "https://github.com/search/app.git" });
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        var personal = await client.PostAsJsonAsync("/api/v1/web-search", new { query = "mine" });
        Assert.Equal(HttpStatusCode.OK, personal.StatusCode);

        Assert.Equal((100 - 5 - 1, 1000 - 1), (await server.OrgBalanceAsync(org), await server.PersonalBalanceAsync(dev)));
    }

    [Fact]
    public async Task Org_usage_reports_balance_spend_top_users_and_recent_calls_and_the_cli_banner_reports_the_org()
    {
        var alice = await server.CreateUserAsync(credits: 1000);
        var bob = await server.CreateUserAsync(credits: 1000);
        var outsider = await server.CreateUserAsync(credits: 1000);
        var org = await server.CreateOrgAsync(alice, (bob, OrgRole.Member));
        await server.AddRepoAsync(org, alice, "https://github.com/usage/app");
        await server.GrantOrgCreditsAsync(org, alice, 1000);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await ChatAsync(alice, "https://github.com/usage/app")).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(bob, "https://github.com/usage/app")).Status);
        await server.WaitForMessagesAsync(alice.Id, 2);
        await server.WaitForMessagesAsync(bob.Id, 1);

        var usage = (await server.ClientFor(bob).GetFromJsonAsync<JsonObject>($"/api/orgs/{org.Id}/usage"))!;
        Assert.Equal((1000 - 3 * Pricey, 3 * Pricey), ((int)usage["currentBalance"]!, (int)usage["usageThisCycle"]!));
        var now = server.Clock.GetUtcNow().UtcDateTime;
        Assert.Equal(new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc), DateTime.Parse((string)usage["cycleStartDate"]!).ToUniversalTime());
        Assert.Equal([(alice.Id, 2 * Pricey, alice.Email), (bob.Id, Pricey, bob.Email)],
            usage["topUsers"]!.AsArray().Select(u => ((string)u!["user_id"]!, (int)u["credits_used"]!, (string)u["user_email"]!)));
        var recent = usage["recentUsage"]!.AsArray();
        Assert.Equal(3, recent.Count);
        // The usage chart: the same calls on alice's today, from the rollup the charge statement keeps.
        var daily = (await server.ClientFor(alice).GetFromJsonAsync<JsonObject>("/api/user/usage/daily?days=7"))!["days"]!.AsArray();
        Assert.Equal((7, 2 * Pricey, 2), (daily.Count, (int)daily[^1]!["credits"]!, (int)daily[^1]!["calls"]!));
        Assert.All(recent, r => Assert.Equal(("https://github.com/usage/app", Pricey), ((string)r!["repository_url"]!, (int)r["credits_used"]!)));

        var banner = await server.ClientFor(bob).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "cli-usage", orgId = org.Id });
        Assert.Equal("""{"type":"usage-response","usage":159,"remainingBalance":841,"balanceBreakdown":{},"next_quota_reset":null}""",
            await banner.Content.ReadAsStringAsync());
        // Not a member: silently the caller's own figures.
        var personal = (await (await server.ClientFor(outsider).PostAsJsonAsync("/api/v1/usage", new { fingerprintId = "cli-usage", orgId = org.Id })).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(1000, (int)personal["remainingBalance"]!);
    }

    async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var conn = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, conn);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task The_credit_limit_is_checked_against_the_rollups()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var org = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(org, dev, "https://github.com/rolled/app");
        await server.GrantOrgCreditsAsync(org, dev, 5000);
        await using (var db = server.NewDbContext())
            await db.Orgs.Where(o => o.Id == org.Id).ExecuteUpdateAsync(s => s.SetProperty(o => o.CreditLimit, 100));
        // Today's spend as the charge statement keeps it in rollup.org_user_day, with no message rows to scan.
        await ExecuteAsync("INSERT INTO rollup.org_user_day (org_id, day, user_id, calls, credits) VALUES (@o, @d, @u, 1, 100)",
            ("o", org.Id), ("d", DateOnly.FromDateTime(server.Clock.GetUtcNow().UtcDateTime)), ("u", dev.Id));
        Assert.Equal((HttpStatusCode.PaymentRequired, """{"message":"Organization monthly credit limit reached"}"""), await ChatAsync(dev, "https://github.com/rolled/app"));
        Assert.Empty(await server.MessagesAsync(dev.Id));
    }

    [Fact]
    public async Task Concurrent_calls_billed_to_an_org_hold_its_credits()
    {
        var dev = await server.CreateUserAsync(credits: 1000);
        var org = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(org, dev, "https://github.com/held/app");
        await server.GrantOrgCreditsAsync(org, dev, 20);
        using var client = server.ClientFor(dev);
        var runId = await server.StartRunAsync(client);
        // Default price, max_tokens 4000: each call holds 7 credits and is billed 10; the provider answers once all have passed the gate.
        var model = $"test/held-tencredits-{Guid.NewGuid():N}";
        server.Upstream.Hold = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, 10).Select(_ =>
        {
            var body = Chat(runId, "https://github.com/held/app", model);
            body["max_tokens"] = 4000;
            return client.PostChatAsync(body, HttpCompletionOption.ResponseHeadersRead);
        }).ToList();
        for (var i = 0; i < 300 && server.Upstream.Requests.Count(r => (string?)r.Body["model"] == model) + calls.Count(c => c.IsCompleted) < 10; i++) await Task.Delay(100);
        server.Upstream.Hold.SetResult();
        var answers = await Task.WhenAll(calls);
        Assert.Equal(3, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.OK))
            Assert.Matches("""^\{"message":"Organization credits are held by calls in progress: \d+ of the \d+ remaining are reserved for unfinished calls. Try again when they finish."\}$""",
                await refused.Content.ReadAsStringAsync());
        foreach (var answer in answers) await answer.Content.ReadAsStringAsync();
        Assert.Equal(3, (await server.WaitForMessagesAsync(dev.Id, 3)).Count);
        Assert.Equal((20 - 30, 1000), (await server.OrgBalanceAsync(org), await server.PersonalBalanceAsync(dev)));
    }

    [Fact]
    public async Task A_search_holds_its_price_and_is_refused_while_the_credits_are_held()
    {
        var dev = await server.CreateUserAsync(credits: 5);
        var org = await server.CreateOrgAsync(await server.CreateUserAsync(), (dev, OrgRole.Member));
        await server.AddRepoAsync(org, dev, "https://github.com/hold/search");
        await server.GrantOrgCreditsAsync(org, dev, 5);
        using var client = server.ClientFor(dev);
        const string Hold = "INSERT INTO billing.reservation (call_id, owner, credits, expires_at) VALUES (gen_random_uuid(), @o, 3, now() + interval '1 hour')";
        await ExecuteAsync(Hold, ("o", "user:" + dev.Id));
        await ExecuteAsync(Hold, ("o", "org:" + org.Id));

        // A deep search costs 5: 5 remain, 3 of them held.
        var personal = await client.PostAsJsonAsync("/api/v1/web-search", new { query = "x", depth = "deep" });
        Assert.Equal(HttpStatusCode.PaymentRequired, personal.StatusCode);
        var body = (await personal.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(("Credits are held by calls in progress: 3 of the 5 remaining are reserved for unfinished calls. Try again when they finish.", 5, 5),
            ((string)body["message"]!, (int)body["totalRemaining"]!, (int)body["required"]!));
        var orgSearch = await client.PostAsJsonAsync("/api/v1/web-search", new { query = "x", depth = "deep", repoUrl = "https://github.com/hold/search" });
        Assert.Equal((HttpStatusCode.PaymentRequired, """{"message":"Organization credits are held by calls in progress: 3 of the 5 remaining are reserved for unfinished calls. Try again when they finish.","totalRemaining":5,"required":5}"""),
            (orgSearch.StatusCode, await orgSearch.Content.ReadAsStringAsync()));

        // A standard search (1 credit) fits beside the holds, and its charge ends its own hold.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/web-search", new { query = "x" })).StatusCode);
        Assert.Equal(4, await server.PersonalBalanceAsync(dev));
        await using var conn = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var held = new Npgsql.NpgsqlCommand("SELECT sum(credits) FROM billing.reservation WHERE owner = @o", conn);
        held.Parameters.AddWithValue("o", "user:" + dev.Id);
        Assert.Equal(3L, Convert.ToInt64(await held.ExecuteScalarAsync()));
    }
}
