using System.Data.Common;
using System.Text;
using Codebuff.Server.AgentRuns;
using Codebuff.Server.Agents;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Data.Migrations;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Codebuff.Server.Tests.Schema;

/// <summary>
/// The dashboard's and the store's reads keep off full scans of the tables that grow without bound: each read runs
/// through the feature's own query method on a seeded, ANALYZEd database while an interceptor EXPLAINs every command it
/// sends; no plan may hold a Seq Scan over agent_run or message.
/// </summary>
public sealed class ReadPlanTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const int Rows = 60_000;

    [Fact]
    public async Task Reads_of_runs_messages_and_org_spend_use_indexes_not_sequential_scans()
    {
        await using (var conn = new NpgsqlConnection(server.ConnectionString))
        {
            await conn.OpenAsync();
            await using var seed = new NpgsqlCommand($"""
                INSERT INTO "user" (id, email) SELECT 'pu' || g, 'pu' || g || '@plan.test' FROM generate_series(0, 199) g;
                INSERT INTO org (id, name, slug, owner_id, auto_topup_threshold, auto_topup_amount) VALUES ('porg', 'Plan org', 'plan-org', 'pu0', 0, 0);
                INSERT INTO agent_run (id, user_id, agent_id, ancestor_run_ids, status, total_credits, created_at, completed_at)
                SELECT 'r' || g, 'pu' || (g / 10 * 10 % 200), 'pub/agent' || (g % 6) || '@1.0.' || (g % 3),
                       CASE WHEN g % 10 = 0 THEN '{"{}"}'::text[] ELSE ARRAY['r' || (g / 10 * 10)] END,
                       'completed', 1, now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '1 second'
                FROM generate_series(1, {Rows}) g;
                INSERT INTO agent_step (id, agent_run_id, step_number, created_at)
                SELECT 's' || g, 'r' || g, 1, now() FROM generate_series(1, {Rows}) g;
                INSERT INTO message (id, finished_at, model, response, output_tokens, cost, credits, user_id, org_id)
                SELECT 'm' || g, (now() AT TIME ZONE 'UTC') - g * interval '1 minute', 'model', '{"{}"}'::jsonb, 1, 0.01, 2, 'pu' || (g % 200),
                       CASE WHEN g % 4 = 0 THEN 'porg' END
                FROM generate_series(1, {Rows}) g;
                {ReadRollups.BackfillSql}
                ANALYZE;
                """, conn);
            await seed.ExecuteNonQueryAsync();
        }

        var plans = new ExplainEveryCommand();
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, server.ConnectionString);
        options.AddInterceptors(plans);
        await using var db = new AppDbContext(options.Options);
        var now = DateTime.UtcNow;
        var ct = CancellationToken.None;

        var page = await RunQueries.UserRunsAsync(db, "pu10", null, 50, ct);
        Assert.Equal(50, page.Runs.Count);
        var next = await RunQueries.UserRunsAsync(db, "pu10", page.NextCursor, 50, ct);
        Assert.True(next.Runs[0].CreatedAt < page.Runs[^1].CreatedAt);
        var trace = await RunQueries.TraceAsync(db, "pu0", "r200", ct);
        Assert.Equal(10, trace!.Runs.Count); // r200 and the nine runs under it
        var days = await UsageQueries.CreditsPerDayAsync(db, "pu3", DateOnly.FromDateTime(now), 30, ct);
        Assert.Equal(30, days.Count);
        Assert.True(days.Sum(d => d.Credits) > 0);
        var calendar = await OrgUsageQueries.SpendByMemberAsync(db, "porg", new DateTime(now.Year, now.Month, 1), new DateTime(now.Year, now.Month, 1).AddMonths(1), ct);
        var midDay = await OrgUsageQueries.SpendByMemberAsync(db, "porg", now.AddDays(-10.5), now.AddDays(19.5), ct);
        Assert.NotEmpty(midDay);
        await using (var check = new NpgsqlConnection(server.ConnectionString))
        {
            // Rollup days plus partial edge days give exactly what a scan of message gives.
            await check.OpenAsync();
            await using var exact = new NpgsqlCommand("SELECT sum(credits) FROM message WHERE org_id = 'porg' AND NOT byok AND finished_at >= $1", check)
            { Parameters = { new() { Value = DateTime.SpecifyKind(now.AddDays(-10.5), DateTimeKind.Unspecified), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Timestamp } } };
            Assert.Equal(Convert.ToInt64(await exact.ExecuteScalarAsync()), midDay.Sum(m => m.Credits));
        }
        var recent = await OrgUsageQueries.RecentAsync(db, db.Messages.Where(m => m.OrgId == "porg" && !m.Byok && m.FinishedAt >= now.AddDays(-10)), 50, ct);
        Assert.Equal(50, recent.Count);
        var stats = await AgentVersionStats.ForVersionAsync(db, "pub", "agent1", "1.0.1", DateOnly.FromDateTime(now).AddDays(-29), ct);
        Assert.True(stats.Runs > 0);
        Assert.True(stats.UniqueUsers > 0);
        // The admins' trace search: by a run id (client request id) and by a client id over the recent days.
        var search = await TraceSearch.SearchAsync(db, "r200", now, ct);
        Assert.Equal("r200", search.Run?.Id);
        await TraceSearch.SearchAsync(db, "some-client", now, ct);

        Assert.True(plans.Plans.Count >= 8, $"only {plans.Plans.Count} commands explained");
        var all = string.Join("\n---\n", plans.Plans);
        Assert.DoesNotContain("Seq Scan on agent_run", all);
        Assert.DoesNotContain("Seq Scan on message", all);
        Assert.DoesNotContain("Seq Scan on agent_step", all);
        Assert.Contains("idx_agent_run_user_id", all);
        Assert.Contains("idx_agent_run_root", all);
        Assert.Contains("message_org_id_finished_at_idx", all);
    }

    /// <summary>Runs EXPLAIN, with the same parameters, before every query the context sends.</summary>
    sealed class ExplainEveryCommand : DbCommandInterceptor
    {
        public List<string> Plans { get; } = [];

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken ct = default)
        {
            await using var explain = new NpgsqlCommand("EXPLAIN " + command.CommandText, (NpgsqlConnection)command.Connection!, (NpgsqlTransaction?)command.Transaction);
            foreach (NpgsqlParameter p in command.Parameters) explain.Parameters.Add(p.Clone());
            var plan = new StringBuilder(command.CommandText).AppendLine();
            await using (var reader = await explain.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) plan.AppendLine(reader.GetString(0));
            Plans.Add(plan.ToString());
            return result;
        }
    }
}
