// Proxy overhead of POST /api/v1/chat/completions (streaming): the same load against the fake provider directly
// (baseline) and through the server (auth, run check, rate limit, credit gate, relay, billing transaction), in one run.
//   dotnet run -c Release --project bench/Codebuff.Bench.Proxy -- [--seconds 5] [--chunks 20] [--concurrency 1,64] [--shared-user]
// Each client is its own user unless --shared-user, which puts every call on one user's ledger lock (the worst case:
// billing transactions of one owner are serialised).
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Codebuff.Server.Admin;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Npgsql;

var seconds = Arg("--seconds", 5.0);
var chunks = (int)Arg("--chunks", 20.0);
var levels = ArgList("--concurrency", [1, 64]);
var sharedUser = args.Contains("--shared-user");

var root = Path.Combine(Path.GetTempPath(), "codebuff-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
if (Environment.UserName == "root") File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
var pg = await EmbeddedPostgres.StartAsync(root, durable: false);
WebApplication? fake = null, server = null;
try
{
    var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = "postgres" }.ConnectionString;
    var options = new DbContextOptionsBuilder<AppDbContext>();
    AppDbContext.Configure(options, cs);
    await using (var db = new AppDbContext(options.Options)) await db.Database.MigrateAsync();

    fake = await StartFakeProviderAsync(chunks);
    var fakeUrl = Address(fake);

    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ConnectionStrings:Default"] = cs,
        ["Codebuff:DataDir"] = root,
        ["Codebuff:Upstream:BaseUrl"] = fakeUrl + "/v1",
        ["Codebuff:Chat:RateLimitPerMinute"] = "10000000",
        ["Codebuff:Chat:RateLimitBurst"] = "10000000",
        ["Logging:LogLevel:Default"] = "Warning",
    });
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    server = ServerApp.Build(builder);
    await server.StartAsync();
    var serverUrl = Address(server);

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { Timeout = TimeSpan.FromMinutes(2) };
    var clients = new List<BenchClient>();
    for (var i = 0; i < levels.Max(); i++)
    {
        string apiKey;
        if (sharedUser && clients.Count > 0) apiKey = clients[0].ApiKey;
        else
        {
            await using var scope = server.Services.CreateAsyncScope();
            apiKey = (await AdminCommands.CreateUserAsync(scope.ServiceProvider, $"bench{i}@example.com", null, null, 100_000_000, CancellationToken.None)).apiKey;
        }
        using var start = new HttpRequestMessage(HttpMethod.Post, serverUrl + "/api/v1/agent-runs") { Content = new StringContent("""{"action":"START","agentId":"bench","ancestorRunIds":[]}""") };
        start.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(start);
        clients.Add(new BenchClient(apiKey, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["runId"]!));
    }

    Console.WriteLine($"streamed chat completions, {chunks} content chunks + usage each, {seconds:0.#} s per measurement, {Environment.ProcessorCount} CPUs, {(sharedUser ? "one user for all clients" : "one user per client")}");
    Console.WriteLine($"{"clients",7} | {"target",8} | {"requests",8} | {"req/s",8} | {"p50 ms",7} | {"p99 ms",7}");
    var results = new List<string>();
    foreach (var c in levels)
    {
        // Warm-up, then the baseline and the proxy back to back under the same conditions.
        await MeasureAsync(http, fakeUrl + "/v1/chat/completions", false, clients, c, 1);
        await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", true, clients, c, 1);
        var direct = await MeasureAsync(http, fakeUrl + "/v1/chat/completions", false, clients, c, seconds);
        var proxy = await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", true, clients, c, seconds);
        Print(c, "direct", direct);
        Print(c, "proxy", proxy);
        results.Add($"{c} clients: throughput proxy/direct = {proxy.Rps / direct.Rps:0.00}, p50 proxy/direct = {proxy.P50 / direct.P50:0.00} (+{proxy.P50 - direct.P50:0.00} ms), p99 proxy/direct = {proxy.P99 / direct.P99:0.00} (+{proxy.P99 - direct.P99:0.00} ms)");
    }
    foreach (var line in results) Console.WriteLine(line);
    await using (var db = new AppDbContext(options.Options))
        Console.WriteLine($"billed message rows: {await db.Messages.CountAsync()}");
}
finally
{
    if (server is not null) await server.DisposeAsync();
    if (fake is not null) await fake.DisposeAsync();
    await pg.StopAsync();
    try { Directory.Delete(root, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
}

static async Task<Stats> MeasureAsync(HttpClient http, string url, bool authenticate, List<BenchClient> benchClients, int clients, double seconds)
{
    var stop = Stopwatch.StartNew();
    var latencies = new List<double>[clients];
    var errors = 0;
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async w =>
    {
        latencies[w] = [];
        var body = $$$"""{"model":"bench/model","stream":true,"messages":[{"role":"user","content":"hello"}],"codebuff_metadata":{"run_id":"{{{benchClients[w].RunId}}}","client_id":"bench"}}""";
        while (stop.Elapsed.TotalSeconds < seconds)
        {
            var t = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (authenticate) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", benchClients[w].ApiKey);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode || !text.Contains("[DONE]") || !text.Contains("\"cost\"")) Interlocked.Increment(ref errors);
            if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null && latencies[w].Count == 0 && w == 0) Console.WriteLine($"  sample {url}: {(int)response.StatusCode} {text.Length} chars");
            latencies[w].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
    }));
    var all = latencies.SelectMany(l => l).Order().ToArray();
    if (errors > 0) Console.WriteLine($"  ({errors} failed requests against {url})");
    return new Stats(all.Length, all.Length / stop.Elapsed.TotalSeconds, Percentile(all, 0.50), Percentile(all, 0.99));
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static void Print(int c, string target, Stats s) => Console.WriteLine($"{c,7} | {target,8} | {s.Count,8} | {s.Rps,8:0.0} | {s.P50,7:0.00} | {s.P99,7:0.00}");

static async Task<WebApplication> StartFakeProviderAsync(int chunks)
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
        for (var i = 0; i < chunks; i++)
        {
            await context.Response.WriteAsync($$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":1730000000,"model":"bench/model","choices":[{"index":0,"delta":{"content":"word{{i}} "},"finish_reason":null}]}""" + "\n\n");
            await context.Response.Body.FlushAsync();
        }
        await context.Response.WriteAsync("data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"bench/model\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":" + chunks + ",\"total_tokens\":" + (100 + chunks) + ",\"cost\":0.0123,\"cost_details\":{\"upstream_inference_cost\":0}}}" + "\n\ndata: [DONE]\n\n");
    });
    await app.StartAsync();
    return app;
}

static string Address(WebApplication app) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

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

sealed record Stats(int Count, double Rps, double P50, double P99);
sealed record BenchClient(string ApiKey, string RunId);
