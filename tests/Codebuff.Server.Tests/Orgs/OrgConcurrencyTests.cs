using Codebuff.Server.Data;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>Runs alone, after the parallel classes: 200 calls over two servers need more connections than the shared
/// test cluster has left while every other class holds its own pool.</summary>
[CollectionDefinition(nameof(OrgConcurrencyTests), DisableParallelization = true)]
public sealed class OrgConcurrencyCollection;

[Collection(nameof(OrgConcurrencyTests))]
public sealed class OrgConcurrencyTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    /// <summary>
    /// 200 billed chat completions by 10 members of one org, all at once, half through this server and half through a
    /// second, independent server on the same database; a mix of 53-credit and 1-credit calls, streamed and not. The
    /// org's ledger has gone down by exactly the credits of its messages, and no member's own credits moved.
    /// </summary>
    [Fact]
    public async Task Parallel_org_calls_from_two_servers_account_for_every_credit_on_the_org()
    {
        var owner = await server.CreateUserAsync(credits: 100);
        var members = new List<TestUser>();
        for (var i = 0; i < 10; i++) members.Add(await server.CreateUserAsync(credits: 100));
        var org = await server.CreateOrgAsync(owner, members.Select(m => (m, OrgRole.Member)).ToArray());
        await server.AddRepoAsync(org, owner, "https://github.com/busy/monorepo");
        await server.GrantOrgCreditsAsync(org, owner, 4000);
        await server.GrantOrgCreditsAsync(org, owner, 3000);

        await using var second = await server.StartSecondServerAsync();
        var secondUrl = new Uri(second.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var runs = new Dictionary<string, string>();
        foreach (var m in members) runs[m.Id] = await server.StartRunAsync(server.ClientFor(m));

        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var member = members[i % 10];
            using var client = server.ClientFor(member);
            if (i % 2 == 1) client.BaseAddress = secondUrl;
            var body = ChatFixture.ChatBody(i % 3 == 0 ? "anthropic/pricey" : "anthropic/cheap", runs[member.Id], stream: i % 4 < 2);
            body["codebuff_metadata"]!["repo_url"] = "git@github.com:busy/monorepo.git";
            using var response = await client.PostChatAsync(body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("\"error\"", text);
            return response.StatusCode;
        }));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        await using var db = server.NewDbContext();
        var messages = await db.Messages.AsNoTracking().Where(m => members.Select(x => x.Id).Contains(m.UserId!)).ToListAsync();
        Assert.Equal(200, messages.Count);
        Assert.All(messages, m => Assert.Equal((org.Id, "https://github.com/busy/monorepo"), (m.OrgId, m.RepoUrl)));
        var billed = messages.Sum(m => m.Credits);
        Assert.Equal(67 * 53 + 133 * 1, billed);

        var grants = await db.CreditLedger.AsNoTracking().Where(g => g.OrgId == org.Id).ToListAsync();
        Assert.Equal(billed, grants.Sum(g => g.Principal) - grants.Sum(g => g.Balance));
        foreach (var m in members.Append(owner))
            Assert.Equal(100, await server.PersonalBalanceAsync(m));
    }
}
