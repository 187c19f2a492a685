using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Billing;

public sealed class ConcurrencyTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    /// <summary>
    /// 200 charges of random sizes for one user, in parallel, half through this server and half through a second,
    /// independent server (its own DI container and connection pool) on the same database. Afterwards the ledger
    /// accounts for every billed credit exactly.
    /// </summary>
    [Fact]
    public async Task Parallel_charges_from_two_servers_account_for_every_credit()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
            await ledger.GrantAsync(LedgerOwner.User(user.Id), "free-" + user.Id, user.Id, 500, GrantType.Free, null, DateTime.UtcNow.AddDays(10));
            await ledger.GrantAsync(LedgerOwner.User(user.Id), "buy-" + user.Id, user.Id, 300, GrantType.Purchase, null, null);
        }
        await using var second = await ServerFixture.StartServerAsync(server.ConnectionString,
            new Dictionary<string, string?> { ["Codebuff:AuthSecret"] = "test-auth-secret", ["Logging:LogLevel:Default"] = "Warning" });

        var random = new Random(1234);
        var sizes = Enumerable.Range(0, 200).Select(_ => random.Next(0, 30)).ToArray();
        await Task.WhenAll(sizes.Select(async (credits, i) =>
        {
            var services = i % 2 == 0 ? server.Services : second.Services;
            await using var scope = services.CreateAsyncScope();
            var message = new Message
            {
                Id = $"gen-{user.Id}-{i}", UserId = user.Id, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1, FinishedAt = DateTime.UtcNow,
            };
            Assert.Equal(ChargeOutcome.Charged, await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(user.Id), message, deduct: true));
        }));

        await using var db = server.NewDbContext();
        var billed = await db.Messages.Where(m => m.UserId == user.Id).SumAsync(m => m.Credits);
        var grants = await db.CreditLedger.Where(g => g.UserId == user.Id).ToListAsync();
        var principal = grants.Sum(g => g.Principal);
        var remaining = grants.Where(g => g.Balance > 0).Sum(g => g.Balance);
        var debt = grants.Where(g => g.Balance < 0).Sum(g => -g.Balance);

        Assert.Equal(200, await db.Messages.CountAsync(m => m.UserId == user.Id));
        Assert.Equal(sizes.Sum(), billed);
        Assert.Equal(billed, principal - remaining + debt);
        // Only the last grant in consumption order (purchase: priority 80) may go negative; nothing else may.
        Assert.All(grants.Where(g => g.Balance < 0), g => Assert.Equal(GrantType.Purchase, g.Type));
        Assert.True(sizes.Sum() > 1800, "the run must overspend so that debt is exercised");
        Assert.Equal(sizes.Sum() - 1800, debt);
    }

    /// <summary>
    /// A user whose monthly reset is overdue is charged 100 times in parallel from two servers: the first charge to get
    /// the lock performs the reset, every other one sees it done, and exactly one free grant exists for the period.
    /// </summary>
    [Fact]
    public async Task Parallel_charges_at_an_overdue_reset_grant_the_period_once()
    {
        var user = await server.CreateUserAsync();
        var overdue = DateTime.UtcNow.AddHours(-1);
        overdue = overdue.AddTicks(-(overdue.Ticks % TimeSpan.TicksPerSecond));
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.NextQuotaReset, overdue));
        await using var second = await ServerFixture.StartServerAsync(server.ConnectionString,
            new Dictionary<string, string?> { ["Codebuff:AuthSecret"] = "test-auth-secret", ["Logging:LogLevel:Default"] = "Warning" });

        var sizes = Enumerable.Range(0, 100).Select(i => i % 9).ToArray();
        await Task.WhenAll(sizes.Select(async (credits, i) =>
        {
            await using var scope = (i % 2 == 0 ? server.Services : second.Services).CreateAsyncScope();
            var message = new Message
            {
                Id = $"gen-reset-{user.Id}-{i}", UserId = user.Id, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1, FinishedAt = DateTime.UtcNow,
            };
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(user.Id), message, deduct: true);
        }));

        await using var check = server.NewDbContext();
        var reset = (await check.Users.SingleAsync(u => u.Id == user.Id)).NextQuotaReset!.Value;
        Assert.Equal(QuotaCalendar.AddMonth(overdue), reset);
        var grant = Assert.Single(await check.CreditLedger.Where(g => g.UserId == user.Id).ToListAsync());
        Assert.Equal(($"free-{user.Id}-{reset:yyyy-MM-dd'T'HH:mm}", GrantType.Free, FreeCredits.Initial, FreeCredits.Initial - sizes.Sum()),
            (grant.OperationId, grant.Type, grant.Principal, grant.Balance));
        Assert.Equal(sizes.Sum(), await check.Messages.Where(m => m.UserId == user.Id).SumAsync(m => m.Credits));
    }
}
