using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Billing;

/// <summary>The ledger's rules against real PostgreSQL, with a clock the tests move.</summary>
public sealed class LedgerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static readonly DateTimeOffset Start = new(2026, 2, 5, 12, 0, 0, TimeSpan.Zero);
    readonly FakeClock _clock = new(Start);

    (AppDbContext Db, CreditLedger Ledger) Open()
    {
        var db = server.NewDbContext();
        return (db, new CreditLedger(db, _clock));
    }

    async Task<string> NewUserAsync(DateTime? nextReset = null)
    {
        var user = await server.CreateUserAsync();
        await using var db = server.NewDbContext();
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.NextQuotaReset, nextReset ?? Start.UtcDateTime.AddDays(20)));
        return user.Id;
    }

    async Task GrantAsync(string userId, string op, int amount, GrantType type, DateTime? expires, DateTime? createdAt = null)
    {
        var (db, ledger) = Open();
        await using (db)
        {
            if (createdAt is { } c) _clock.Now = c;
            // Operation ids are global keys: scope the test's short names to the user.
            Assert.True((await ledger.GrantAsync(LedgerOwner.User(userId), $"{userId}:{op}", userId, amount, type, op, expires)).Created);
            _clock.Now = Start;
        }
    }

    async Task<Dictionary<string, int>> BalancesAsync(string userId)
    {
        await using var db = server.NewDbContext();
        return await db.CreditLedger.Where(g => g.UserId == userId).ToDictionaryAsync(g => g.OperationId.Replace(userId + ":", ""), g => g.Balance);
    }

    static Message Msg(string userId, int credits) => new()
    {
        Id = "gen-" + Guid.NewGuid().ToString("N"), UserId = userId, Model = "m", Response = "\"\"", Credits = credits, OutputTokens = 1,
        FinishedAt = Start.UtcDateTime,
    };

    [Fact]
    public async Task Consumes_by_priority_then_expiry_then_creation_and_skips_expired_grants()
    {
        var u = await NewUserAsync();
        var t = Start.UtcDateTime;
        await GrantAsync(u, "purchase", 40, GrantType.Purchase, null);
        await GrantAsync(u, "admin", 30, GrantType.Admin, null);
        await GrantAsync(u, "referral", 50, GrantType.Referral, t.AddDays(5));
        await GrantAsync(u, "free-late", 100, GrantType.Free, t.AddDays(10));
        await GrantAsync(u, "free-soon", 20, GrantType.Free, t.AddDays(2));
        await GrantAsync(u, "expired", 999, GrantType.Free, t.AddDays(-1), createdAt: t.AddDays(-3));
        await GrantAsync(u, "admin-newer", 5, GrantType.Admin, null, createdAt: t.AddMinutes(1));

        var (db, ledger) = Open();
        await using (db) Assert.Equal(ChargeOutcome.Charged, await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 220), deduct: true));

        // free (soonest expiry first) -> referral -> admin (older first) -> admin-newer -> purchase
        Assert.Equal(new Dictionary<string, int>
        {
            ["free-soon"] = 0, ["free-late"] = 0, ["referral"] = 0, ["admin"] = 0, ["admin-newer"] = 0, ["purchase"] = 25, ["expired"] = 999,
        }, await BalancesAsync(u));
    }

    [Fact]
    public async Task Overspending_puts_debt_on_the_last_grant_and_the_next_grant_settles_it()
    {
        var u = await NewUserAsync();
        await GrantAsync(u, "free", 10, GrantType.Free, Start.UtcDateTime.AddDays(3));
        await GrantAsync(u, "admin", 10, GrantType.Admin, null);
        var (db, ledger) = Open();
        await using (db) await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 35), deduct: true);
        Assert.Equal(new Dictionary<string, int> { ["free"] = 0, ["admin"] = -15 }, await BalancesAsync(u));

        (db, ledger) = Open();
        await using (db)
        {
            var balance = await ledger.GetBalanceAsync(LedgerOwner.User(u));
            Assert.Equal((0, 15, -15), (balance.TotalRemaining, balance.TotalDebt, balance.NetBalance));
        }

        await GrantAsync(u, "buy", 40, GrantType.Purchase, null);
        Assert.Equal(new Dictionary<string, int> { ["free"] = 0, ["admin"] = 0, ["buy"] = 25 }, await BalancesAsync(u));
        await using (var check = server.NewDbContext())
        {
            var buy = await check.CreditLedger.SingleAsync(g => g.OperationId == $"{u}:buy");
            Assert.Equal(40, buy.Principal);
            Assert.EndsWith("(15 credits used to clear existing debt)", buy.Description);
        }

        // A grant smaller than the debt pays part of it and is still recorded (so it stays idempotent).
        (db, ledger) = Open();
        await using (db) await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 50), deduct: true);
        await GrantAsync(u, "small", 10, GrantType.Admin, null);
        var after = await BalancesAsync(u);
        Assert.Equal(0, after["small"]);
        Assert.Equal(-15, after.Values.Where(b => b < 0).Sum());
    }

    [Fact]
    public async Task Grants_are_idempotent_by_operation_id()
    {
        var u = await NewUserAsync();
        var (db, ledger) = Open();
        await using (db)
        {
            var first = await ledger.GrantAsync(LedgerOwner.User(u), "op-1", u, 70, GrantType.Admin, "first", null);
            Assert.True(first.Created);
            // The repeat (even with other figures) changes nothing and answers with the first call's row.
            var again = await ledger.GrantAsync(LedgerOwner.User(u), "op-1", u, 99, GrantType.Purchase, "second", null);
            Assert.False(again.Created);
            Assert.Equal((70, 70, GrantType.Admin, "first", first.Grant.CreatedAt), (again.Grant.Principal, again.Grant.Balance, again.Grant.Type, again.Grant.Description, again.Grant.CreatedAt));
            Assert.Equal(70, (await ledger.GetBalanceAsync(LedgerOwner.User(u))).TotalRemaining);
        }
        await using var check = server.NewDbContext();
        Assert.Equal(1, await check.CreditLedger.CountAsync(g => g.OperationId == "op-1"));
    }

    [Fact]
    public async Task A_message_id_is_billed_once_and_usage_without_grants_becomes_recorded_debt()
    {
        var u = await NewUserAsync();
        var message = Msg(u, 7);
        var (db, ledger) = Open();
        await using (db) Assert.Equal(ChargeOutcome.Charged, await ledger.ChargeAsync(LedgerOwner.User(u), message, deduct: true));
        var again = Msg(u, 7);
        again.Id = message.Id;
        (db, ledger) = Open();
        await using (db) Assert.Equal(ChargeOutcome.AlreadyBilled, await ledger.ChargeAsync(LedgerOwner.User(u), again, deduct: true));

        Assert.Equal(new Dictionary<string, int> { [$"debt-{message.Id}"] = -7 }, await BalancesAsync(u));
        await GrantAsync(u, "after", 10, GrantType.Admin, null);
        Assert.Equal(3, (await BalancesAsync(u))["after"]);
        await using var check = server.NewDbContext();
        Assert.Equal(1, await check.Messages.CountAsync(m => m.UserId == u));
    }

    [Fact]
    public async Task Expiring_a_grant_early_removes_it_from_balance_and_consumption_but_never_forgives_debt()
    {
        var u = await NewUserAsync();
        await GrantAsync(u, "free", 20, GrantType.Free, Start.UtcDateTime.AddDays(5));
        await GrantAsync(u, "buy", 30, GrantType.Purchase, null);
        var (db, ledger) = Open();
        await using (db)
        {
            Assert.True(await ledger.ExpireGrantAsync($"{u}:buy", "refunded"));
            Assert.False(await ledger.ExpireGrantAsync($"{u}:buy", "refunded")); // already over
            Assert.False(await ledger.ExpireGrantAsync("no-such-grant", "x"));
            Assert.Equal(20, (await ledger.GetBalanceAsync(LedgerOwner.User(u))).TotalRemaining);
            await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 25), deduct: true);
        }
        // The expired purchase kept its figures; the overspend became debt on the last *active* grant.
        Assert.Equal(new Dictionary<string, int> { ["free"] = -5, ["buy"] = 30 }, await BalancesAsync(u));
        (db, ledger) = Open();
        await using (db) Assert.False(await ledger.ExpireGrantAsync($"{u}:free", "x"));
        await using var check = server.NewDbContext();
        var buy = await check.CreditLedger.SingleAsync(g => g.OperationId == $"{u}:buy");
        Assert.Equal((Start.UtcDateTime, "buy (Expired early: refunded)"), (buy.ExpiresAt!.Value, buy.Description));
        Assert.Equal(Start.UtcDateTime.AddDays(5), (await check.CreditLedger.SingleAsync(g => g.OperationId == $"{u}:free")).ExpiresAt);
    }

    [Fact]
    public async Task Debt_lands_on_the_last_grant_even_when_it_was_already_spent()
    {
        var u = await NewUserAsync();
        await GrantAsync(u, "free", 10, GrantType.Free, Start.UtcDateTime.AddDays(3));
        await GrantAsync(u, "buy-old", 5, GrantType.Purchase, null, createdAt: Start.UtcDateTime.AddMinutes(-2));
        await GrantAsync(u, "buy-new", 5, GrantType.Purchase, null, createdAt: Start.UtcDateTime.AddMinutes(-1));
        await GrantAsync(u, "admin", 3, GrantType.Admin, null);
        var (db, ledger) = Open();
        await using (db) await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 23), deduct: true);
        Assert.Equal(new Dictionary<string, int> { ["free"] = 0, ["admin"] = 0, ["buy-old"] = 0, ["buy-new"] = 0 }, await BalancesAsync(u));

        (db, ledger) = Open();
        await using (db) await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 7), deduct: true);
        // Every grant is at 0: the newest purchase (highest priority number, never expiring, newest) takes the debt.
        Assert.Equal(new Dictionary<string, int> { ["free"] = 0, ["admin"] = 0, ["buy-old"] = 0, ["buy-new"] = -7 }, await BalancesAsync(u));
    }

    [Fact]
    public async Task A_negative_charge_is_refused_and_writes_nothing()
    {
        var u = await NewUserAsync();
        await GrantAsync(u, "admin", 10, GrantType.Admin, null);
        var (db, ledger) = Open();
        await using (db)
        {
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, -5), deduct: true));
        }
        Assert.Equal(10, (await BalancesAsync(u))["admin"]);
        await using var check = server.NewDbContext();
        Assert.Equal(0, await check.Messages.CountAsync(m => m.UserId == u));
    }

    [Fact]
    public async Task Byok_charges_record_the_message_but_deduct_nothing()
    {
        var u = await NewUserAsync();
        await GrantAsync(u, "admin", 10, GrantType.Admin, null);
        var (db, ledger) = Open();
        await using (db) await ledger.ChargeAsync(LedgerOwner.User(u), Msg(u, 9), deduct: false);
        Assert.Equal(10, (await BalancesAsync(u))["admin"]);
    }

    [Fact]
    public async Task Monthly_reset_moves_the_date_by_js_months_and_grants_the_last_free_amount_once()
    {
        var jan31 = new DateTime(2026, 1, 31, 10, 0, 0, DateTimeKind.Utc);
        var u = await NewUserAsync(nextReset: jan31);
        await GrantAsync(u, "old-free", 1500, GrantType.Free, jan31, createdAt: jan31.AddMonths(-1));

        var (db, ledger) = Open();
        await using (db)
        {
            var usage = await ledger.GetUsageAsync(LedgerOwner.User(u));
            Assert.Equal(new DateTime(2026, 3, 3, 10, 0, 0, DateTimeKind.Utc), usage.NextQuotaReset); // Jan 31 + 1 month, JS-style
            Assert.Equal(1500, usage.Balance.Breakdown["free"]);
        }
        (db, ledger) = Open();
        await using (db) await ledger.GetBalanceAsync(LedgerOwner.User(u)); // same period: nothing more

        await using (var check = server.NewDbContext())
        {
            var grant = await check.CreditLedger.SingleAsync(g => g.UserId == u && g.OperationId != $"{u}:old-free");
            Assert.Equal(($"free-{u}-2026-03-03T10:00", 1500, GrantType.Free, (DateTime?)new DateTime(2026, 3, 3, 10, 0, 0, DateTimeKind.Utc)),
                (grant.OperationId, grant.Principal, grant.Type, grant.ExpiresAt));
        }

        // Next period: the grant that just expired decides the amount again.
        _clock.Now = new DateTimeOffset(2026, 3, 4, 0, 0, 0, TimeSpan.Zero);
        (db, ledger) = Open();
        await using (db)
        {
            var usage = await ledger.GetUsageAsync(LedgerOwner.User(u));
            Assert.Equal(new DateTime(2026, 4, 3, 10, 0, 0, DateTimeKind.Utc), usage.NextQuotaReset);
            Assert.Equal(1500, usage.Balance.TotalRemaining);
        }
    }

    [Fact]
    public async Task Monthly_reset_caps_the_free_amount_and_renews_referral_bonuses()
    {
        var due = Start.UtcDateTime.AddDays(-1);
        var u = await NewUserAsync(nextReset: due);
        var friend = await NewUserAsync();
        await GrantAsync(u, "big-free", 5000, GrantType.Free, due, createdAt: due.AddMonths(-1));
        await using (var db0 = server.NewDbContext())
        {
            db0.Referrals.Add(new Referral { ReferrerId = u, ReferredId = friend, Status = ReferralStatus.Completed, Credits = 250, CreatedAt = due, CompletedAt = due });
            await db0.SaveChangesAsync();
        }
        var (db, ledger) = Open();
        await using (db)
        {
            var balance = await ledger.GetBalanceAsync(LedgerOwner.User(u));
            Assert.Equal(FreeCredits.MonthlyCap, balance.Breakdown["free"]);
            Assert.Equal(250, balance.Breakdown["referral"]);
        }
    }

    [Fact]
    public async Task Concurrent_reads_at_a_due_reset_grant_once()
    {
        var u = await NewUserAsync(nextReset: Start.UtcDateTime.AddHours(-1));
        var reads = Enumerable.Range(0, 12).Select(async _ =>
        {
            await using var db = server.NewDbContext();
            return (await new CreditLedger(db, _clock).GetBalanceAsync(LedgerOwner.User(u))).TotalRemaining;
        });
        Assert.All(await Task.WhenAll(reads), total => Assert.Equal(FreeCredits.Initial, total));
        await using var check = server.NewDbContext();
        Assert.Equal(1, await check.CreditLedger.CountAsync(g => g.UserId == u && g.Type == GrantType.Free));
    }

    [Theory]
    [InlineData("2026-01-31T10:00:00Z", "2026-03-03T10:00:00Z")]
    [InlineData("2024-01-31T00:00:00Z", "2024-03-02T00:00:00Z")]
    [InlineData("2026-03-15T08:30:00Z", "2026-04-15T08:30:00Z")]
    [InlineData("2026-12-31T23:59:00Z", "2027-01-31T23:59:00Z")]
    public void Month_arithmetic_matches_javascript(string from, string expected) =>
        Assert.Equal(DateTime.Parse(expected).ToUniversalTime(), QuotaCalendar.AddMonth(DateTime.Parse(from).ToUniversalTime()));
}
