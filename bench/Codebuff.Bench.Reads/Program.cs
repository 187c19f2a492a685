// Reads at scale (issue 16): seeds agent_run and message (10 million each by default) plus users, publishers, agents
// and orgs into a throwaway embedded PostgreSQL, starts the real server as it ships, and measures p50/p99 of the
// store, its metrics, an agent version's statistics, an agent's version list, a user's credits per day (30 days), an
// org's usage (top users, recent calls), a user's run list (first and a later keyset page) and one run's trace tree,
// one client at a time. Then, in the same run, billed calls/s through the charge statement with and without its
// rollup part (Ledger/ChargeSql.cs RollupCtes), alternating, 8 clients over 200 users.
//   dotnet run -c Release --project bench/Codebuff.Bench.Reads -- [--runs 10000000] [--messages 10000000]
//       [--users 1000] [--orgs 20] [--requests 500] [--billing-seconds 3]
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Codebuff.Ledger;
using Codebuff.Server.Admin;
using Codebuff.Server.Data;
using Codebuff.Server.Data.Migrations;
using Codebuff.Server.Hosting;
using Codebuff.Server.Postgres;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Npgsql;

var runs = (long)Arg("--runs", 10_000_000);
var messages = (long)Arg("--messages", 10_000_000);
var userCount = (int)Arg("--users", 1000);
var orgCount = (int)Arg("--orgs", 20);
var requests = (int)Arg("--requests", 500);
var billingSeconds = Arg("--billing-seconds", 3);

var root = Path.Combine(Path.GetTempPath(), "codebuff-bench-reads-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
if (Environment.UserName == "root") File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
var pg = await EmbeddedPostgres.StartAsync(root, durable: false);
WebApplication? server = null;
try
{
    var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = "postgres", CommandTimeout = 0 }.ConnectionString;
    var options = new DbContextOptionsBuilder<AppDbContext>();
    AppDbContext.Configure(options, cs);
    await using (var db = new AppDbContext(options.Options)) await db.Database.MigrateAsync();

    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ConnectionStrings:Default"] = cs,
        ["Codebuff:DataDir"] = root,
        // The only setting changed from the shipped defaults: one loopback client sends far more than 600 reads a minute.
        ["Codebuff:RateLimits:PublicReadsPerMinute"] = "100000000",
    });
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    server = ServerApp.Build(builder);
    await server.StartAsync();
    var url = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    string benchUser, apiKey;
    await using (var scope = server.Services.CreateAsyncScope())
        (benchUser, var _, apiKey) = await AdminCommands.CreateUserAsync(scope.ServiceProvider, "bench@example.com", "Bench", null, null, CancellationToken.None);

    var seedTime = Stopwatch.StartNew();
    await SeedAsync(cs, benchUser);
    Console.WriteLine($"seeded {runs:N0} agent_run, {messages:N0} message rows, {userCount:N0} users, {orgCount} orgs in {seedTime.Elapsed.TotalSeconds:0} s");

    using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    var firstPage = JsonNode.Parse(await http.GetStringAsync("/api/runs?limit=50"))!;
    var someRun = (string)firstPage["runs"]![7]!["id"]!;
    // A later page: up to the 21st (fewer when the bench user has fewer runs at a small seed).
    var laterCursor = (string?)firstPage["next_cursor"];
    for (var i = 0; i < 20 && laterCursor is not null; i++)
    {
        var next = (string?)JsonNode.Parse(await http.GetStringAsync($"/api/runs?limit=50&cursor={Uri.EscapeDataString(laterCursor)}"))!["next_cursor"];
        if (next is null) break;
        laterCursor = next;
    }

    string[] routes =
    [
        "/api/agents", "/api/agents?sort=usage", "/api/agents?sort=unique_users&search=agent3", "/api/agents?sort=name&search=bench",
        "/api/agents/metrics", "/api/agents/bpub1/agent4/1.0.1/stats", "/api/agents/bpub1/agent4", "/api/user/usage/daily",
        "/api/orgs/borg0/usage", "/api/runs?limit=50", $"/api/runs/{someRun}/trace",
        .. (laterCursor is null ? Array.Empty<string>() : [$"/api/runs?limit=50&cursor={Uri.EscapeDataString(laterCursor)}"]),
    ];
    Console.WriteLine($"\n{requests} sequential requests per route after 20 warm-up ones; {Environment.ProcessorCount} CPUs\n");
    Console.WriteLine("| route | p50 ms | p99 ms | max ms |");
    Console.WriteLine("|---|---:|---:|---:|");
    foreach (var route in routes)
    {
        for (var i = 0; i < 20; i++) (await http.GetAsync(route)).EnsureSuccessStatusCode();
        var times = new List<double>(requests);
        for (var i = 0; i < requests; i++)
        {
            var sw = Stopwatch.StartNew();
            using var response = await http.GetAsync(route);
            await response.Content.ReadAsByteArrayAsync();
            response.EnsureSuccessStatusCode();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        Console.WriteLine($"| `{(route.Contains("cursor") ? "/api/runs?limit=50&cursor=(a later page)" : route.Contains("/trace") ? "/api/runs/{id}/trace" : route)}` | {times[times.Count / 2]:0.00} | {times[(int)(times.Count * 0.99)]:0.00} | {times[^1]:0.00} |");
    }

    await BillingCostAsync(cs);
}
finally
{
    if (server is not null) await server.DisposeAsync();
    await pg.DisposeAsync();
    try { Directory.Delete(root, recursive: true); } catch (IOException) { }
}

async Task SeedAsync(string cs, string benchUser)
{
    await using var conn = new NpgsqlConnection(cs);
    await conn.OpenAsync();
    async Task Exec(string sql, params (string, object)[] ps)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (n, v) in ps) cmd.Parameters.AddWithValue(n, v);
        await cmd.ExecuteNonQueryAsync();
    }
    await Exec("SET synchronous_commit = off");
    // The run's user: the bench user holds every userCount-th tree, so its lists are as long as anyone's.
    var userOf = "CASE WHEN ({0}) % @users = 0 THEN @bench ELSE 'bu' || (({0}) % @users) END";
    (string, object)[] common = [("users", userCount), ("bench", benchUser), ("runs", runs), ("messages", messages), ("orgs", orgCount)];
    await Exec("""
        INSERT INTO "user" (id, email, name) SELECT 'bu' || g, 'bu' || g || '@bench.test', 'Bench user ' || g FROM generate_series(1, @users - 1) g;
        INSERT INTO publisher (id, name, verified, user_id, created_by) SELECT 'bpub' || p, 'Bench publisher ' || p, p = 0, 'bu1', 'bu1' FROM generate_series(0, 2) p;
        INSERT INTO agent_config (id, version, publisher_id, data)
        SELECT 'agent' || a, '1.0.' || v, 'bpub' || (a % 3),
               jsonb_build_object('id', 'agent' || a, 'version', '1.0.' || v, 'displayName', 'Bench agent ' || a, 'description', 'A bench agent that does task ' || a)
        FROM generate_series(0, 5) a, generate_series(0, 2) v;
        -- A store of realistic size: agents nobody has run yet.
        INSERT INTO agent_config (id, version, publisher_id, data)
        SELECT 'extra' || a, '0.1.0', 'bpub' || (a % 3), jsonb_build_object('id', 'extra' || a, 'displayName', 'Extra agent ' || a, 'spawnerPrompt', 'Helps with chore ' || a)
        FROM generate_series(1, 500) a;
        INSERT INTO org (id, name, slug, owner_id, auto_topup_threshold, auto_topup_amount)
        SELECT 'borg' || o, 'Bench org ' || o, 'bench-org-' || o, CASE WHEN o = 0 THEN @bench ELSE 'bu1' END, 0, 0 FROM generate_series(0, @orgs - 1) o;
        INSERT INTO org_member (org_id, user_id, role) VALUES ('borg0', @bench, 'owner');
        INSERT INTO org_member (org_id, user_id, role) SELECT 'borg' || (u % @orgs), 'bu' || u, 'member' FROM generate_series(1, @users - 1) u
        ON CONFLICT DO NOTHING;
        """, common);

    // Bulk load without the secondary indexes, then build them again exactly as they were.
    var indexes = new List<(string Name, string Def)>();
    await using (var cmd = new NpgsqlCommand("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename IN ('agent_run', 'agent_step', 'message')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """, conn))
    await using (var r = await cmd.ExecuteReaderAsync())
        while (await r.ReadAsync()) indexes.Add((r.GetString(0), r.GetString(1)));
    foreach (var (name, _) in indexes) await Exec($"DROP INDEX \"{name}\"");

    const long chunk = 1_000_000;
    for (long from = 1; from <= runs; from += chunk)
    {
        // Trees of five: g % 5 = 0 is the root, the next four are its children (same user).
        await Exec($"""
            INSERT INTO agent_run (id, user_id, agent_id, ancestor_run_ids, status, total_steps, direct_credits, total_credits, created_at, completed_at)
            SELECT 'run-' || g, {string.Format(userOf, "g / 5")},
                   'bpub' || (g * 7 % 6 % 3) || '/agent' || (g * 7 % 6) || '@1.0.' || (g % 3),
                   CASE WHEN g % 5 = 0 THEN '{"{}"}'::text[] ELSE ARRAY['run-' || (g / 5 * 5)] END,
                   (CASE WHEN g % 20 = 7 THEN 'failed' ELSE 'completed' END)::agent_run_status, 3, 0.5, (g % 50) + 0.5,
                   t, t + interval '30 seconds'
            FROM generate_series(@from, least(@from + {chunk} - 1, @runs)) g,
                 LATERAL (SELECT now() - (g::float8 / @runs) * interval '365 days' AS t) ts
            """, [.. common, ("from", from)]);
        Console.WriteLine($"  agent_run {Math.Min(from + chunk - 1, runs):N0}");
    }
    await Exec("""
        INSERT INTO agent_step (id, agent_run_id, step_number, credits, created_at)
        SELECT 'step-' || g || '-' || s, 'run-' || g, s, 0.5, now() FROM generate_series(1, @runs) g, generate_series(1, 3) s
        WHERE g % 50 < 5
        """, common);
    for (long from = 1; from <= messages; from += chunk)
    {
        await Exec($"""
            INSERT INTO message (id, finished_at, model, response, input_tokens, output_tokens, cost, credits, user_id, org_id)
            SELECT 'msg-' || g, (now() AT TIME ZONE 'UTC') - (g::float8 / @messages) * interval '90 days', 'bench/model', '"ok"', 100, 10, 0.01,
                   g % 20 + 1, {string.Format(userOf, "g")}, CASE WHEN g % 4 = 0 THEN 'borg' || (g / 4 % @orgs) END
            FROM generate_series(@from, least(@from + {chunk} - 1, @messages)) g
            """, [.. common, ("from", from)]);
        Console.WriteLine($"  message {Math.Min(from + chunk - 1, messages):N0}");
    }
    foreach (var (name, def) in indexes) { await Exec(def); Console.WriteLine($"  index {name}"); }
    await Exec(ReadRollups.BackfillSql);
    await Exec("VACUUM ANALYZE");
}

async Task BillingCostAsync(string cs)
{
    await using var source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(cs) { MaxPoolSize = 32 }.ConnectionString);
    var billed = Enumerable.Range(1, 200).Select(i => "bu" + i).ToArray();
    await using (var cmd = source.CreateCommand("""
        INSERT INTO credit_ledger (operation_id, user_id, principal, balance, type, priority)
        SELECT 'bench-grant-' || u, u, 1000000000, 1000000000, 'admin', 60 FROM unnest($1::text[]) u
        """))
    {
        cmd.Parameters.Add(new NpgsqlParameter { Value = billed });
        await cmd.ExecuteNonQueryAsync();
    }
    var with = ChargeSql.Sql(LedgerOwner.User(billed[0])); // every bench user is a personal owner
    var without = with.Replace(ChargeSql.RollupCtes, "");
    if (without == with) throw new InvalidOperationException("the rollup part was not found in the charge statement");

    async Task<double> MeasureAsync(string sql, double seconds)
    {
        var clock = Stopwatch.StartNew();
        long count = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            var rnd = new Random(c);
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var user = billed[rnd.Next(billed.Length)];
                var owner = LedgerOwner.User(user);
                Charge[] charges = [new(Guid.NewGuid(), user, null, "", DateTime.UtcNow, null, null, "bench/model", null, null, "\"ok\"", 10, 0, null, 5, 0.0095m, 1, false, null, true)];
                await using var conn = await source.OpenConnectionAsync();
                await using var batch = new NpgsqlBatch(conn);
                batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
                batch.BatchCommands.Add(ChargeSql.LockCommand(owner));
                var charge = new NpgsqlBatchCommand(sql);
                ChargeSql.AddChargeParameters(charge.Parameters, owner, charges, DateTime.UtcNow);
                batch.BatchCommands.Add(charge);
                batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await batch.ExecuteNonQueryAsync();
                Interlocked.Increment(ref count);
            }
        })));
        return count / clock.Elapsed.TotalSeconds;
    }

    await MeasureAsync(with, 1);
    await MeasureAsync(without, 1);
    Console.WriteLine($"\nbilled calls/s (charge statement, 8 clients, 200 users, {billingSeconds:0.#} s per cell, alternating)");
    Console.WriteLine("| round | with rollups /s | without /s | with / without |");
    Console.WriteLine("|---:|---:|---:|---:|");
    for (var round = 1; round <= 2; round++)
    {
        var a = await MeasureAsync(with, billingSeconds);
        var b = await MeasureAsync(without, billingSeconds);
        Console.WriteLine($"| {round} | {a:0} | {b:0} | {a / b:0.00} |");
    }
}

double Arg(string name, double fallback) =>
    args.SkipWhile(a => a != name).Skip(1).Select(double.Parse).Cast<double?>().FirstOrDefault() ?? fallback;
