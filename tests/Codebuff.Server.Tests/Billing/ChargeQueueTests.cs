using System.Diagnostics.Metrics;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Billing;

public sealed class ChargeQueueTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    internal static Charge NewCharge(string userId, int credits, string response = "\"ok\"") => new(
        Guid.NewGuid(), userId, null, ProviderId: "", FinishedAt: DateTime.UtcNow, ClientId: null, ClientRequestId: null, Model: "m",
        AgentId: null, ReasoningText: null, Response: response, InputTokens: 1, CacheReadInputTokens: 0, ReasoningTokens: null,
        OutputTokens: 1, Cost: 0.01m, Credits: credits, Byok: false, LatencyMs: 1, Deduct: true);

    [Fact]
    public async Task A_charge_the_database_refuses_goes_to_sync_failure_and_does_not_hold_back_the_owners_other_charges()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var queue = server.Services.GetRequiredService<ChargeQueue>();
        var good = Enumerable.Range(0, 5).Select(_ => NewCharge(user.Id, 3)).ToList();
        var bad = NewCharge(user.Id, 7, response: "not json");
        var ghost = NewCharge("no-such-user", 2);

        await Task.WhenAll(good.Take(2).Append(bad).Concat(good.Skip(2)).Append(ghost).Select(queue.SubmitAsync));
        for (var i = 0; i < 100 && queue.Pending > 0; i++) await Task.Delay(100);
        Assert.Equal(0, queue.Pending);

        await using var db = server.NewDbContext();
        Assert.Equal(5, await db.Messages.CountAsync(m => m.UserId == user.Id));
        Assert.Equal(100 - 15, await db.CreditLedger.Where(g => g.UserId == user.Id).SumAsync(g => g.Balance));
        var failures = await db.SyncFailures.Where(f => f.Id == bad.CallId.ToString() || f.Id == ghost.CallId.ToString()).ToListAsync();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal("billing", f.Provider));
        Assert.Contains("json", failures.Single(f => f.Id == bad.CallId.ToString()).LastError, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"credits\":7", failures.Single(f => f.Id == bad.CallId.ToString()).LastError);
        Assert.Contains("foreign key", failures.Single(f => f.Id == ghost.CallId.ToString()).LastError);
    }

    [Fact]
    public async Task An_org_billed_charge_replayed_from_a_dead_instances_journal_keeps_its_org_and_repository()
    {
        var member = await server.CreateUserAsync(credits: 100);
        var orgId = Guid.NewGuid().ToString();
        await using (var db = server.NewDbContext())
        {
            db.Orgs.Add(new Org { Id = orgId, Name = "Replay Org", Slug = "replay-" + orgId[..8], OwnerId = member.Id });
            db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = member.Id, Role = OrgRole.Owner });
            await db.SaveChangesAsync();
        }
        await using (var scope = server.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.Org(orgId), $"seed-{orgId}", member.Id, 500,
                GrantType.Organization, "seed", null, CancellationToken.None);
        var charge = NewCharge(member.Id, 42) with
        {
            OrgId = orgId,
            ProviderId = $"gen-{Guid.NewGuid():N}",
            ClientId = "client-replay",
            ClientRequestId = "request-replay",
            RepoUrl = "https://github.com/acme/replayed",
        };

        // What an instance killed before the charge committed leaves: the charge journaled, never marked done, its file
        // no longer locked.
        var dataDir = Path.Combine(Path.GetTempPath(), "codebuff-replay-" + Guid.NewGuid().ToString("N")[..12]);
        using (var dead = new ChargeJournal(dataDir)) dead.Append(charge);
        var deadFile = Assert.Single(Directory.GetFiles(Path.Combine(dataDir, "billing"), "*.journal"));

        // The next instance on that data directory replays it as it starts.
        await using (var next = await ServerFixture.StartServerAsync(server.ConnectionString, new()
        {
            ["Codebuff:AuthSecret"] = "test-auth-secret", ["Codebuff:DataDir"] = dataDir, ["Logging:LogLevel:Default"] = "Warning",
        }))
        {
            var queue = next.Services.GetRequiredService<ChargeQueue>();
            await using var db = server.NewDbContext();
            for (var i = 0; i < 300 && !await db.Messages.AnyAsync(m => m.Id == charge.ProviderId); i++) await Task.Delay(100);
            for (var i = 0; i < 100 && queue.Pending > 0; i++) await Task.Delay(100);
            Assert.Equal(0, queue.Pending);
        }

        await using (var db = server.NewDbContext())
        {
            var row = await db.Messages.AsNoTracking().SingleAsync(m => m.Id == charge.ProviderId);
            Assert.Equal((member.Id, orgId, "https://github.com/acme/replayed", 42, "client-replay", "request-replay"),
                (row.UserId, row.OrgId, row.RepoUrl, row.Credits, row.ClientId, row.ClientRequestId));
            // The org paid, the member's own credits are untouched.
            Assert.Equal(500 - 42, await db.CreditLedger.Where(g => g.OrgId == orgId).SumAsync(g => g.Balance));
            Assert.Equal(100, await db.CreditLedger.Where(g => g.UserId == member.Id && g.OrgId == null).SumAsync(g => g.Balance));
        }
        Assert.False(File.Exists(deadFile), "the adopted journal is deleted");
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task Owners_ready_at_once_share_transactions_and_each_is_billed_exactly_once()
    {
        var users = new List<TestUser>();
        for (var i = 0; i < 24; i++) users.Add(await server.CreateUserAsync(credits: 1000));
        var overdue = users[0];
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == overdue.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.NextQuotaReset, DateTime.UtcNow.AddDays(-1)));
        var queue = server.Services.GetRequiredService<ChargeQueue>();
        var charges = users.SelectMany(u => Enumerable.Range(0, 6).Select(_ => NewCharge(u.Id, 2))).ToList();
        var ghost = NewCharge("no-such-user-" + Guid.NewGuid().ToString("N")[..8], 2);
        long shared = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Name == "codebuff.billing.shared_transactions") l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref shared, value));
        listener.Start();

        // Submitted all at once, in an order that interleaves the owners; every charge also submitted twice.
        var order = charges.OrderBy(_ => Random.Shared.Next()).ToList();
        await Task.WhenAll(order.Concat(order.Take(30)).Append(ghost).Select(c => Task.Run(() => queue.SubmitAsync(c))));
        for (var i = 0; i < 100 && queue.Pending > 0; i++) await Task.Delay(100);
        Assert.Equal(0, queue.Pending);

        Assert.True(Interlocked.Read(ref shared) > 0, "no transaction wrote several owners' charges");
        await using var check = server.NewDbContext();
        foreach (var user in users)
        {
            Assert.Equal(6, await check.Messages.CountAsync(m => m.UserId == user.Id));
            var consumed = await check.CreditLedger.Where(g => g.UserId == user.Id).SumAsync(g => g.Principal - g.Balance);
            Assert.Equal(12, consumed);
        }
        // The overdue user's period was renewed once, before its charges.
        Assert.True(await check.Users.Where(u => u.Id == overdue.Id).Select(u => u.NextQuotaReset).SingleAsync() > DateTime.UtcNow);
        Assert.Equal("billing", (await check.SyncFailures.SingleAsync(f => f.Id == ghost.CallId.ToString())).Provider);
    }

    /// <summary>
    /// The journal cannot write (every write and fsync fails, as on a full disk) while 60 charges of one owner flow,
    /// then it can again and 20 more flow: every submitted charge is answered and billed exactly once, /api/healthz
    /// names the failing journal meanwhile and nothing once it works. Before, the failed journal write threw out of
    /// SubmitAsync (the answered call was never queued), and a failed "done" write killed the owner's writer for good.
    /// </summary>
    [Fact]
    public async Task Charges_flowing_while_the_journal_cannot_write_are_all_billed_once_and_healthz_reports_it()
    {
        var user = await server.CreateUserAsync(credits: 10_000);
        var queue = server.Services.GetRequiredService<ChargeQueue>();
        var journal = server.Services.GetRequiredService<ChargeJournal>();
        var full = 1;
        journal.Fault = (_, _) => Volatile.Read(ref full) == 1 ? new IOException("No space left on device") : null;
        var charges = new List<Charge>();
        try
        {
            var during = Enumerable.Range(0, 60).Select(i => NewCharge(user.Id, 5)).ToList();
            charges.AddRange(during);
            await Task.WhenAll(during.Take(30).Select(c => Task.Run(() => queue.SubmitAsync(c))));
            var health = (await server.Client.GetFromJsonAsync<JsonObject>("/api/healthz"))!;
            var error = Assert.Single(health["billing_errors"]!.AsArray())!;
            Assert.Equal(("journal", "No space left on device"), ((string?)error["source"], (string?)error["error"]));
            await Task.WhenAll(during.Skip(30).Select(c => Task.Run(() => queue.SubmitAsync(c)))); // the same owner's writer still runs
        }
        finally
        {
            Volatile.Write(ref full, 0);
        }
        var after = Enumerable.Range(0, 20).Select(i => NewCharge(user.Id, 5)).ToList();
        charges.AddRange(after);
        await Task.WhenAll(after.Select(c => Task.Run(() => queue.SubmitAsync(c))));
        journal.Fault = null;
        for (var i = 0; i < 100 && queue.Pending > 0; i++) await Task.Delay(100);
        Assert.Equal(0, queue.Pending);

        await using var db = server.NewDbContext();
        Assert.Equal(80, await db.Messages.CountAsync(m => m.UserId == user.Id));
        Assert.Equal(10_000 - 80 * 5, await db.CreditLedger.Where(g => g.UserId == user.Id).SumAsync(g => g.Balance));
        var healthy = (await server.Client.GetFromJsonAsync<JsonObject>("/api/healthz"))!;
        Assert.Equal(("ok", 0), ((string?)healthy["status"], healthy["billing_errors"]!.AsArray().Count));
    }
}
