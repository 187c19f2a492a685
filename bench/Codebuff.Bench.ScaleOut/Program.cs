// Scale-out figures: billed chat calls/s through 1, 2 and 3 server instances on one PostgreSQL behind a round-robin
// client, each next to the same load sent straight to the provider (baseline), and the cost of the shared rate-limit
// check on the hot path next to a SELECT 1 round trip on the same pool.
//   dotnet run -c Release --project bench/Codebuff.Bench.ScaleOut -- [--seconds 5] [--clients 16] [--instances 1,2,3]
// Setting changed from the shipped defaults: Codebuff:Chat:RateLimitPerMinute/Burst are raised so that the limiter
// counts every call (its statement runs as shipped) but never refuses one; the bench measures throughput, not the limit.
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Codebuff.Server.Admin;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Http;
using Codebuff.Server.Postgres;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Npgsql;

var seconds = Arg("--seconds", 5.0);
var clientCount = (int)Arg("--clients", 16.0);
var instanceCounts = ArgList("--instances", [1, 2, 3]);

var root = Path.Combine(Path.GetTempPath(), "codebuff-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
if (Environment.UserName == "root") File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
// Durable, as the embedded server ships: every commit waits for its WAL flush, as it does for users.
var pg = await EmbeddedPostgres.StartAsync(root);
var servers = new List<WebApplication>();
WebApplication? fake = null;
try
{
    var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = "postgres" }.ConnectionString;
    var options = new DbContextOptionsBuilder<AppDbContext>();
    AppDbContext.Configure(options, cs);
    await using (var db = new AppDbContext(options.Options)) await db.Database.MigrateAsync();

    fake = await StartFakeProviderAsync();
    var fakeUrl = fake.Urls.First();
    for (var i = 0; i < instanceCounts.Max(); i++)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Default"] = cs,
            ["Codebuff:DataDir"] = Path.Combine(root, $"instance{i}"),
            ["Codebuff:AuthSecret"] = "bench-auth-secret",
            ["Codebuff:Byok:MasterKey"] = "bench-byok-key",
            ["Codebuff:Upstream:BaseUrl"] = fakeUrl + "/v1", ["Codebuff:Upstream:ReportsCost"] = "true", // the fake reports cost
            ["Codebuff:Chat:RateLimitPerMinute"] = "10000000",
            ["Codebuff:Chat:RateLimitBurst"] = "10000000",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var server = ServerApp.Build(builder);
        await server.StartAsync();
        servers.Add(server);
    }

    // The hot-path check: the limiter's statement vs SELECT 1, both on a pool of the same size, 16 concurrent callers.
    var limits = servers[0].Services.GetRequiredService<SharedRateLimits>();
    await using var plain = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(cs) { MaxPoolSize = SharedRateLimits.PoolSize }.ConnectionString);
    async Task SelectOne(int _) { await using var cmd = plain.CreateCommand("SELECT 1"); await cmd.ExecuteScalarAsync(); }
    async Task Limiter(int w) => await limits.TakeTokenAsync($"chat:bench-{w}", 10_000_000, 1e6, CancellationToken.None);
    await Rate(SelectOne, 16, 1);
    await Rate(Limiter, 16, 1);
    var select1 = await Rate(SelectOne, 16, seconds);
    var limiter = await Rate(Limiter, 16, seconds);
    Console.WriteLine($"hot-path check, 16 callers: SELECT 1 {select1:0} /s, shared limiter {limiter:0} /s, ratio {limiter / select1:0.00} " +
                      $"({1000 * 16 / limiter:0.00} ms vs {1000 * 16 / select1:0.00} ms per call under load)");

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { Timeout = TimeSpan.FromMinutes(2) };
    var clients = new List<(string ApiKey, string RunId)>();
    for (var i = 0; i < clientCount; i++)
    {
        await using var scope = servers[0].Services.CreateAsyncScope();
        var apiKey = (await AdminCommands.CreateUserAsync(scope.ServiceProvider, $"bench{i}@example.com", null, null, 100_000_000, CancellationToken.None)).apiKey;
        using var start = new HttpRequestMessage(HttpMethod.Post, servers[0].Urls.First() + "/api/v1/agent-runs") { Content = new StringContent("""{"action":"START","agentId":"bench","ancestorRunIds":[]}""") };
        start.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(start);
        clients.Add((apiKey, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["runId"]!));
    }

    Console.WriteLine($"streamed chat completions, {clientCount} clients (one user each), {seconds:0.#} s per measurement, {Environment.ProcessorCount} CPUs, all instances in this process");
    Console.WriteLine($"{"instances",9} | {"direct/s",9} | {"billed/s",9} | {"ratio",5}");
    foreach (var n in instanceCounts)
    {
        var urls = servers.Take(n).Select(s => s.Urls.First() + "/api/v1/chat/completions").ToArray();
        var next = 0;
        async Task Direct(int w) => await ChatAsync(http, fakeUrl + "/v1/chat/completions", clients[w], false);
        async Task Proxied(int w) => await ChatAsync(http, urls[Interlocked.Increment(ref next) % n], clients[w], true);
        await Rate(Direct, clientCount, 1);
        await Rate(Proxied, clientCount, 1);
        var direct = await Rate(Direct, clientCount, seconds);
        var billed = await Rate(Proxied, clientCount, seconds);
        Console.WriteLine($"{n,9} | {direct,9:0.0} | {billed,9:0.0} | {billed / direct,5:0.00}");
    }
    await using (var db = new AppDbContext(options.Options))
        Console.WriteLine($"billed message rows: {await db.Messages.CountAsync()}");
}
finally
{
    foreach (var s in servers) await s.DisposeAsync();
    if (fake is not null) await fake.DisposeAsync();
    await pg.StopAsync();
    try { Directory.Delete(root, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
}

static async Task ChatAsync(HttpClient http, string url, (string ApiKey, string RunId) client, bool authenticate)
{
    var body = $$$"""{"model":"bench/model","stream":true,"messages":[{"role":"user","content":"hello"}],"codebuff_metadata":{"run_id":"{{{client.RunId}}}","client_id":"bench"}}""";
    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    if (authenticate) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.ApiKey);
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode || !text.Contains("[DONE]")) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
}

/// <summary>Operations per second of <paramref name="op"/> run by <paramref name="workers"/> concurrent loops.</summary>
static async Task<double> Rate(Func<int, Task> op, int workers, double seconds)
{
    var stop = Stopwatch.StartNew();
    var count = 0;
    await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
    {
        while (stop.Elapsed.TotalSeconds < seconds)
        {
            await op(w);
            Interlocked.Increment(ref count);
        }
    }));
    return count / stop.Elapsed.TotalSeconds;
}

static async Task<WebApplication> StartFakeProviderAsync()
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    var app = builder.Build();
    app.MapPost("/v1/chat/completions", async (HttpContext context) =>
    {
        await context.Request.Body.CopyToAsync(Stream.Null);
        var id = $"gen-{Guid.NewGuid():N}";
        context.Response.ContentType = "text/event-stream";
        context.Features.Get<IHttpResponseBodyFeature>()!.DisableBuffering();
        for (var i = 0; i < 20; i++)
            await context.Response.WriteAsync($$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":1730000000,"model":"bench/model","choices":[{"index":0,"delta":{"content":"word{{i}} "},"finish_reason":null}]}""" + "\n\n");
        await context.Response.WriteAsync("data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"bench/model\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120,\"cost\":0.0123}}\n\ndata: [DONE]\n\n");
    });
    await app.StartAsync();
    return app;
}

double Arg(string name, double fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}

int[] ArgList(string name, int[] fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',').Select(int.Parse).ToArray() : fallback;
}
