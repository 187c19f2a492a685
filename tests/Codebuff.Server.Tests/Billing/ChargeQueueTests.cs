using Codebuff.Server.Billing;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Billing;

public sealed class ChargeQueueTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static Charge NewCharge(string userId, int credits, string response = "\"ok\"") => new(
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
}
