// Ledger throughput: consumptions per second through CreditLedger.ChargeAsync (the billing transaction the charge
// queue runs: one round trip, see Ledger/ChargeSql.cs) versus the same work as the classic sequence of statements
// written by hand against Npgsql (baseline: lock, idempotency check, reset check, grants, update, insert, commit), in
// one run, for 1 hot user and for 1,000 users, at 1/16/64 concurrent clients, one charge per transaction (no group
// commit here: that is the queue's, measured end to end by Codebuff.Bench.Proxy). Each consumption takes 1 credit
// and inserts one message row.
//   dotnet run -c Release --project bench/Codebuff.Bench.Ledger -- [--seconds 3]
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Codebuff.Ledger;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Postgres;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(double.Parse).FirstOrDefault(3.0);
var root = Path.Combine(Path.GetTempPath(), "codebuff-bench-ledger-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
if (Environment.UserName == "root") File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
await using var pg = await EmbeddedPostgres.StartAsync(root, durable: false);
var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { MaxPoolSize = 100 }.ConnectionString;

var services = new ServiceCollection()
    .AddDbContext<AppDbContext>(o => AppDbContext.Configure(o, cs))
    .AddSingleton(TimeProvider.System)
    .AddScoped<CreditLedger>()
    .BuildServiceProvider();
await Entry.MigrateAsync(services);

// 1,000 users, each with one never-expiring grant far larger than the run can spend.
var users = Enumerable.Range(0, 1000).Select(i => $"bench-user-{i}").ToArray();
await using (var conn = new NpgsqlConnection(cs))
{
    await conn.OpenAsync();
    foreach (var u in users)
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO "user" (id, email, next_quota_reset) VALUES (@u, @u || '@bench', now() + interval '1 month');
            INSERT INTO credit_ledger (operation_id, user_id, principal, balance, type, priority) VALUES ('g-' || @u, @u, 1000000000, 1000000000, 'admin', 60);
            """, conn);
        cmd.Parameters.AddWithValue("u", u);
        await cmd.ExecuteNonQueryAsync();
    }
}
await using var raw = NpgsqlDataSource.Create(cs);

async Task EfChargeAsync(string user, string id)
{
    await using var scope = services.CreateAsyncScope();
    await scope.ServiceProvider.GetRequiredService<CreditLedger>().ChargeAsync(LedgerOwner.User(user), Message(user, id), deduct: true);
}

// Warm both paths up (JIT, pools, EF's compiled queries) so that the first cell measures steady state.
await MeasureAsync(4, 1000, (user, id) => RawChargeAsync(raw, user, id), 1);
await MeasureAsync(4, 1000, EfChargeAsync, 1);

Console.WriteLine($"ledger consumptions/s, {seconds:0.#} s per cell, {Environment.ProcessorCount} CPUs");
Console.WriteLine("| owners | clients | statement by statement /s | CreditLedger (one round trip) /s | ratio |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (var owners in new[] { 1, 1000 })
    foreach (var clients in new[] { 1, 16, 64 })
    {
        var baseline = await MeasureAsync(clients, owners, (user, id) => RawChargeAsync(raw, user, id));
        var ledger = await MeasureAsync(clients, owners, EfChargeAsync);
        var line = $"| {(owners == 1 ? "1 hot user" : "1,000 users")} | {clients} | {baseline:0} | {ledger:0} | {ledger / baseline:0.00} |";
        Console.WriteLine(line);
    }

// Every credit accounted for after the run: Σ message.credits = Σ (principal − balance).
await using (var conn = await raw.OpenConnectionAsync())
{
    await using var check = new NpgsqlCommand("SELECT (SELECT coalesce(sum(credits),0) FROM message), (SELECT sum(principal - balance) FROM credit_ledger)", conn);
    await using var r = await check.ExecuteReaderAsync();
    await r.ReadAsync();
    Console.WriteLine($"\nbilled {r.GetInt64(0)} credits, ledger shows {r.GetInt64(1)} consumed: {(r.GetInt64(0) == r.GetInt64(1) ? "consistent" : "INCONSISTENT")}");
}
Directory.Delete(root, recursive: true);

async Task<double> MeasureAsync(int clients, int owners, Func<string, string, Task> charge, double? forSeconds = null)
{
    var limit = forSeconds ?? seconds;
    var until = Stopwatch.StartNew();
    var count = 0L;
    await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
    {
        var rnd = new Random(c);
        while (until.Elapsed.TotalSeconds < limit)
        {
            var user = users[owners == 1 ? 0 : rnd.Next(owners)];
            await charge(user, Guid.NewGuid().ToString("N"));
            Interlocked.Increment(ref count);
        }
    })));
    return count / until.Elapsed.TotalSeconds;
}

static Message Message(string user, string id) => new()
{
    Id = "gen-" + id, UserId = user, Model = "bench/model", Response = "\"ok\"", Credits = 1, InputTokens = 10, OutputTokens = 5,
    Cost = 0.0095m, FinishedAt = DateTime.UtcNow,
};

// The billing transaction as it was before ChargeSql: owner lock, idempotency check, quota-reset check, ordered active
// grants, balance update, message insert, commit — one round trip each.
static async Task RawChargeAsync(NpgsqlDataSource source, string user, string id)
{
    await using var conn = await source.OpenConnectionAsync();
    await using var tx = await conn.BeginTransactionAsync();
    await Exec(conn, tx, "SELECT pg_advisory_xact_lock(@k) FROM (SELECT set_config('lock_timeout', '30s', true)) AS t", ("k", BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("user:" + user)), 0)));
    await Exec(conn, tx, "SELECT 1 FROM message WHERE id = @id", ("id", "gen-" + id));
    await Exec(conn, tx, "SELECT next_quota_reset FROM \"user\" WHERE id = @u", ("u", user));
    string? grant = null;
    await using (var select = new NpgsqlCommand("""
        WITH active AS (
            SELECT * FROM credit_ledger WHERE user_id = @u AND org_id IS NULL AND (expires_at IS NULL OR expires_at > now()))
        SELECT operation_id FROM active
        WHERE balance <> 0 OR operation_id IN (
            SELECT operation_id FROM active ORDER BY priority DESC, expires_at IS NULL DESC, expires_at DESC, created_at DESC LIMIT 1)
        ORDER BY priority, expires_at IS NULL, expires_at, created_at
        """, conn, tx))
    {
        select.Parameters.AddWithValue("u", user);
        await using var reader = await select.ExecuteReaderAsync();
        if (await reader.ReadAsync()) grant = reader.GetString(0);
    }
    await Exec(conn, tx, "UPDATE credit_ledger SET balance = balance - 1 WHERE operation_id = @g", ("g", grant!));
    await Exec(conn, tx, """
        INSERT INTO message (id, finished_at, model, response, input_tokens, output_tokens, cost, credits, user_id)
        VALUES (@id, now(), 'bench/model', '"ok"', 10, 5, 0.0095, 1, @u)
        """, ("id", "gen-" + id), ("u", user));
    await tx.CommitAsync();
}

static async Task Exec(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, params (string Name, object Value)[] ps)
{
    await using var cmd = new NpgsqlCommand(sql, conn, tx);
    foreach (var (n, v) in ps) cmd.Parameters.AddWithValue(n, v);
    await cmd.ExecuteNonQueryAsync();
}
