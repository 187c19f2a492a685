using Codebuff.Server.Billing;
using Codebuff.Server.Chat;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Orgs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Codebuff.Server.Tests.Billing;

/// <summary>
/// billing.user_grant (migration UserGrantIndex) stands in for the index on a user's grants that the seed lacks: the
/// trigger keeps it equal to the ledger's personal grants, and the two statements every proxied call runs — the chat
/// gate and the charge — find a user's grants through it instead of scanning the ledger.
/// </summary>
public sealed class UserGrantIndexTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    async Task<List<string>> IndexedGrantsAsync(string userId)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT operation_id FROM billing.user_grant WHERE user_id = $1", conn)
        { Parameters = { new() { Value = userId } } };
        return await ReadStringsAsync(cmd);
    }

    [Fact]
    public async Task The_trigger_indexes_personal_grants_only_and_the_foreign_key_drops_them_with_the_user()
    {
        var user = await server.CreateUserAsync(credits: 50);
        await server.GrantOrgCreditsAsync(await server.CreateOrgAsync(user), user, 500); // an org grant: its user_id is the payer's
        await using (var scope = server.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.User(user.Id), $"admin-{user.Id}", user.Id, 70,
                GrantType.Admin, "extra", null, CancellationToken.None);

        List<string> personal;
        await using (var db = server.NewDbContext())
            personal = await db.CreditLedger.Where(g => g.UserId == user.Id && g.OrgId == null).Select(g => g.OperationId).ToListAsync();
        Assert.Equal(2, personal.Count); // the starting grant and the admin grant, not the org's
        Assert.Equal(personal.Order(StringComparer.Ordinal), (await IndexedGrantsAsync(user.Id)).Order(StringComparer.Ordinal));

        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteDeleteAsync();
        Assert.Empty(await IndexedGrantsAsync(user.Id));
    }

    [Fact]
    public async Task The_gate_and_the_charge_find_a_users_grants_without_scanning_the_ledger()
    {
        var user = await server.CreateUserAsync(credits: 100);
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        // A ledger of 60,000 grants over 10,000 other users: a month of free grants each, and older expired ones.
        await using (var seed = new NpgsqlCommand("""
            INSERT INTO "user" (id, email) SELECT 'gi' || g, 'gi' || g || '@grants.test' FROM generate_series(1, 10000) g;
            INSERT INTO credit_ledger (operation_id, user_id, principal, balance, type, description, priority, expires_at, created_at)
            SELECT 'gi-free-' || g || '-' || m, 'gi' || g, 500, CASE WHEN m = 0 THEN 500 ELSE 0 END, 'free', 'Monthly free credits', 20,
                   now() + (1 - m) * interval '30 days', now() - m * interval '30 days'
            FROM generate_series(1, 10000) g, generate_series(0, 5) m;
            ANALYZE credit_ledger; ANALYZE billing.user_grant; ANALYZE "user";
            """, conn))
            await seed.ExecuteNonQueryAsync();

        var now = DateTime.UtcNow;
        var owner = LedgerOwner.User(user.Id);
        await using var gate = new NpgsqlCommand("EXPLAIN " + ChatGate.Sql(owner), conn);
        ChatGate.AddParameters(gate.Parameters, user.Id, "no-such-run", owner, Guid.NewGuid(), 7, TimeSpan.FromMinutes(1), now, new TokenBucket("chat:" + user.Id, 10, 1));
        await using var charge = new NpgsqlCommand("EXPLAIN " + ChargeSql.Sql(owner), conn);
        ChargeSql.AddChargeParameters(charge.Parameters, owner, [ChargeQueueTests.NewCharge(user.Id, 3)], now);

        foreach (var (name, cmd) in new[] { ("gate", gate), ("charge", charge) })
        {
            var plan = string.Join("\n", await ReadStringsAsync(cmd));
            Assert.DoesNotContain("Seq Scan on credit_ledger", plan);
            Assert.True(plan.Contains("user_grant_pkey", StringComparison.Ordinal), $"the {name} does not look the user up in billing.user_grant:\n{plan}");
        }
    }

    /// <summary>The first column of every row (an EXPLAIN's plan lines, a list of ids).</summary>
    static async Task<List<string>> ReadStringsAsync(NpgsqlCommand cmd)
    {
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        return lines;
    }
}
