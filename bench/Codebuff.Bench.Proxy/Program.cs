// Proxy overhead of POST /api/v1/chat/completions (streaming), in one run: the same load against the fake provider
// directly, through a plain pass-through gateway (Kestrel + HttpClient, no auth, no billing: the floor any gateway
// pays), through Portkey's open-source gateway (installed by bench/portkey/install.sh, or wherever PORTKEY_GATEWAY names
// its start-server.js), and through the server (one-query gate, relay, group-committed billing), next to a SELECT 1
// round trip, streamed and non-streamed; then billed calls/s with 64 clients spread over 16 users and all on one
// user; then the process's RSS.
//   dotnet run -c Release --project bench/Codebuff.Bench.Proxy -- [--seconds 5] [--chunks 20] [--concurrency 1,64]
// With --telemetry it measures only the server with exporting off, on (OTLP traces and metrics to a loopback sink,
// Prometheus enabled and scraped every second) and off again, streamed, in one run.
// With --memory it measures the resident set of the server process under 1,000 concurrent streams (MemoryRun.cs).
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Codebuff.Server.Admin;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Postgres;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Npgsql;

if (args.Contains("--bare-gateway")) { await MemoryRun.BareGatewayAsync(args); return; }
if (args.Contains("--memory")) { await MemoryRun.RunAsync(args); return; }

var seconds = Arg("--seconds", 5.0);
var chunks = (int)Arg("--chunks", 20.0);
var levels = ArgList("--concurrency", [1, 64]);
var portkey = Environment.GetEnvironmentVariable("PORTKEY_GATEWAY") ?? InstalledPortkey();
var telemetry = args.Contains("--telemetry");

var root = Path.Combine(Path.GetTempPath(), "codebuff-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
if (Environment.UserName == "root") File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
// Durable, as the embedded server ships: every commit waits for its WAL flush, as it does for users.
var pg = await EmbeddedPostgres.StartAsync(root);
WebApplication? fake = null, server = null, passThrough = null;
try
{
    var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = "postgres" }.ConnectionString;
    var options = new DbContextOptionsBuilder<AppDbContext>();
    AppDbContext.Configure(options, cs);
    await using (var db = new AppDbContext(options.Options)) await db.Database.MigrateAsync();

    fake = await StartFakeProviderAsync(chunks);
    var fakeUrl = Loopback.Address(fake);
    passThrough = await StartPassThroughAsync(fakeUrl);
    var passUrl = Loopback.Address(passThrough) + "/v1/chat/completions";

    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ConnectionStrings:Default"] = cs,
        ["Codebuff:DataDir"] = root,
        ["Codebuff:Upstream:BaseUrl"] = fakeUrl + "/v1", ["Codebuff:Upstream:ReportsCost"] = "true", // the fake reports cost
        // The only settings changed from the shipped defaults: the per-user rate limit would otherwise refuse the load.
        ["Codebuff:Chat:RateLimitPerMinute"] = "10000000",
        ["Codebuff:Chat:RateLimitBurst"] = "10000000",
        // Named, so that the exporting instance of --telemetry (another data directory) may share the database.
        ["Codebuff:AuthSecret"] = "bench-auth-secret",
        ["Codebuff:Byok:MasterKey"] = "bench-byok-master-key",
    });
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    server = ServerApp.Build(builder);
    await server.StartAsync();
    var serverUrl = Loopback.Address(server);

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { Timeout = TimeSpan.FromMinutes(2) };
    var users = new List<BenchClient>();
    for (var i = 0; i < 16; i++)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var apiKey = (await AdminCommands.CreateUserAsync(scope.ServiceProvider, $"bench{i}@example.com", null, null, 100_000_000, CancellationToken.None)).apiKey;
        using var start = new HttpRequestMessage(HttpMethod.Post, serverUrl + "/api/v1/agent-runs") { Content = new StringContent("""{"action":"START","agentId":"bench","ancestorRunIds":[]}""") };
        start.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(start);
        users.Add(new BenchClient(apiKey, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["runId"]!));
    }
    var spread = Enumerable.Range(0, levels.Max()).Select(i => users[i % users.Count]).ToList();
    var oneUser = Enumerable.Range(0, levels.Max()).Select(_ => users[0]).ToList();

    Process? gateway = null;
    string? portkeyUrl = null;
    var gatewayErrors = new List<string>();
    if (portkey is not null && File.Exists(portkey))
    {
        var port = Loopback.FreePort();
        gateway = new Process
        {
            StartInfo = new ProcessStartInfo("node", [portkey, $"--port={port}", "--headless"])
            { RedirectStandardOutput = true, RedirectStandardError = true, Environment = { ["NODE_ENV"] = "production" } }
        };
        // Drained so that a full pipe never stalls the gateway; its first error lines are shown if its requests fail.
        gateway.OutputDataReceived += (_, _) => { };
        gateway.ErrorDataReceived += (_, e) => { lock (gatewayErrors) if (e.Data is not null && gatewayErrors.Count < 8) gatewayErrors.Add(e.Data); };
        gateway.Start();
        gateway.BeginOutputReadLine();
        gateway.BeginErrorReadLine();
        portkeyUrl = $"http://127.0.0.1:{port}/v1/chat/completions";
        for (var i = 0; i < 50; i++)
        {
            try { using var probe = await http.GetAsync($"http://127.0.0.1:{port}/"); break; }
            catch (HttpRequestException) { await Task.Delay(200); }
        }
        Console.WriteLine($"Portkey gateway {PackageVersion(portkey, "@portkey-ai/gateway")} (@hono/node-server {PackageVersion(portkey, "@hono/node-server")}), node {NodeVersion()}: {portkey}");
    }
    else Console.WriteLine("Portkey gateway: not measured (run bench/portkey/install.sh, or set PORTKEY_GATEWAY to node_modules/@portkey-ai/gateway/build/start-server.js)");

    if (telemetry)
    {
        await TelemetryRunAsync(http, serverUrl, spread, levels, seconds, cs, fakeUrl, root);
        return;
    }
    var rtt = await SelectOneAsync(cs, seconds);
    Console.WriteLine($"chat completions (streamed unless marked), {chunks} content chunks + usage each, {seconds:0.#} s per measurement, {Environment.ProcessorCount} CPUs");
    Console.WriteLine($"SELECT 1 round trip (Npgsql, 1 client): p50 {rtt.P50:0.000} ms, p99 {rtt.P99:0.000} ms");
    Console.WriteLine($"| clients | target | requests | req/s | p50 ms | p99 ms |");
    Console.WriteLine($"|---:|---|---:|---:|---:|---:|");
    var results = new List<string>();
    foreach (var c in levels)
    {
        // Warm-up, then every target back to back under the same conditions; clients spread over 16 users.
        await MeasureAsync(http, fakeUrl + "/v1/chat/completions", Target.Direct, spread, c, 1);
        await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", Target.Proxy, spread, c, 1);
        await MeasureAsync(http, passUrl, Target.Direct, spread, c, 1);
        var direct = await MeasureAsync(http, fakeUrl + "/v1/chat/completions", Target.Direct, spread, c, seconds);
        Print(c, "direct", direct);
        var pass = await MeasureAsync(http, passUrl, Target.Direct, spread, c, seconds);
        Print(c, "pass-through", pass);
        results.Add($"{c} clients: pass-through gateway p50 +{pass.P50 - direct.P50:0.00} ms over direct ({(pass.P50 - direct.P50) / rtt.P50:0.0} SELECT-1 round trips), {pass.Rps:0} req/s");
        Stats? pk = null;
        if (portkeyUrl is not null)
        {
            await MeasureAsync(http, portkeyUrl, Target.Portkey(fakeUrl), spread, c, 1);
            pk = await MeasureAsync(http, portkeyUrl, Target.Portkey(fakeUrl), spread, c, seconds);
            Print(c, "portkey", pk);
            results.Add($"{c} clients: Portkey p50 +{pk.P50 - direct.P50:0.00} ms over direct ({(pk.P50 - direct.P50) / rtt.P50:0.0} SELECT-1 round trips), {pk.Rps:0} req/s");
        }
        var (cpu0, pg0) = (CpuMs(Environment.ProcessId), PostgresCpuMs(root));
        var proxy = await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", Target.Proxy, spread, c, seconds);
        var (cpu1, pg1) = (CpuMs(Environment.ProcessId), PostgresCpuMs(root));
        Print(c, "proxy", proxy);
        results.Add($"{c} clients: CPU per proxied call: this process (server, load driver, fake provider) {(cpu1 - cpu0) / proxy.Count:0.00} ms, PostgreSQL {(pg1 - pg0) / proxy.Count:0.00} ms");
        results.Add($"{c} clients: proxy p50 +{proxy.P50 - direct.P50:0.00} ms over direct = {(proxy.P50 - direct.P50) / rtt.P50:0.0} SELECT-1 round trips; billed calls/s {proxy.Rps:0} = {proxy.Rps / pass.Rps:0.00} × pass-through (direct {direct.Rps:0})");
        if (pk is not null)
            results.Add($"{c} clients: proxy billed calls/s {proxy.Rps:0} = {proxy.Rps / pk.Rps:0.00} × Portkey ({pk.Rps:0} req/s); p50 {proxy.P50:0.00} ms vs Portkey {pk.P50:0.00} ms");
        // Non-streamed too: Portkey's stream relay sleeps 25 ms before it forwards the first event, which its streamed
        // latency shows; a non-streamed call shows its overhead without that pause (the issue measured non-streamed).
        var directJson = await MeasureAsync(http, fakeUrl + "/v1/chat/completions", Target.Direct, spread, c, seconds, stream: false);
        Print(c, "direct, non-streamed", directJson);
        Stats? pkJson = null;
        if (portkeyUrl is not null)
        {
            await MeasureAsync(http, portkeyUrl, Target.Portkey(fakeUrl), spread, c, 1, stream: false);
            pkJson = await MeasureAsync(http, portkeyUrl, Target.Portkey(fakeUrl), spread, c, seconds, stream: false);
            Print(c, "portkey, non-streamed", pkJson);
        }
        await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", Target.Proxy, spread, c, 1, stream: false);
        var proxyJson = await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", Target.Proxy, spread, c, seconds, stream: false);
        Print(c, "proxy, non-streamed", proxyJson);
        results.Add($"{c} clients, non-streamed: proxy p50 +{proxyJson.P50 - directJson.P50:0.00} ms over direct ({(proxyJson.P50 - directJson.P50) / rtt.P50:0.0} SELECT-1 round trips), billed calls/s {proxyJson.Rps:0}");
        if (pkJson is not null)
            results.Add($"{c} clients, non-streamed: Portkey p50 +{pkJson.P50 - directJson.P50:0.00} ms over direct ({(pkJson.P50 - directJson.P50) / rtt.P50:0.0} SELECT-1 round trips), {pkJson.Rps:0} req/s; proxy billed calls/s = {proxyJson.Rps / pkJson.Rps:0.00} × Portkey");
    }
    var hot = await MeasureAsync(http, serverUrl + "/api/v1/chat/completions", Target.Proxy, oneUser, levels.Max(), seconds);
    Print(levels.Max(), "proxy, 1 user", hot);
    results.Add($"{levels.Max()} clients on one user: billed calls/s {hot.Rps:0}, p50 {hot.P50:0.00} ms");
    foreach (var line in results) Console.WriteLine(line);
    await using (var db = new AppDbContext(options.Options))
    {
        var rows = await db.Messages.CountAsync();
        var billed = await db.Messages.SumAsync(m => m.Credits);
        var consumed = await db.CreditLedger.SumAsync(g => g.Principal - g.Balance);
        Console.WriteLine($"message rows: {rows}; credits billed {billed}, consumed from grants {consumed}: {(billed == consumed ? "consistent" : "INCONSISTENT")}");
    }
    using var self = System.Diagnostics.Process.GetCurrentProcess();
    self.Refresh();
    Console.WriteLine($"RSS of this process (server + fake provider + load driver): {self.WorkingSet64 / 1048576.0:0} MiB, managed heap {GC.GetTotalMemory(false) / 1048576.0:0} MiB");
    if (gateway is not null)
    {
        lock (gatewayErrors) foreach (var line in gatewayErrors) Console.WriteLine($"  Portkey stderr: {line}");
        gateway.Kill(entireProcessTree: true);
        gateway.WaitForExit();
    }
}
finally
{
    if (server is not null) await server.DisposeAsync();
    if (passThrough is not null) await passThrough.DisposeAsync();
    if (fake is not null) await fake.DisposeAsync();
    await pg.StopAsync();
    try { Directory.Delete(root, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
}

// Exporting off (no OpenTelemetry provider: ActivitySource without listeners), on (a second instance on the same
// database exporting OTLP/protobuf traces and metrics to a loopback sink, Prometheus scraped every second), and off again.
// One process: while the exporting instance runs, its listeners see the first instance's spans too, so the phases are
// sequential, never interleaved, and the "off" phases bracket the "on" one.
static async Task TelemetryRunAsync(HttpClient http, string offUrl, List<BenchClient> clients, IEnumerable<int> levels, double seconds, string cs, string fakeUrl, string root)
{
    var sinkBuilder = WebApplication.CreateSlimBuilder();
    sinkBuilder.WebHost.UseUrls("http://127.0.0.1:0");
    sinkBuilder.Logging.ClearProviders();
    var sink = sinkBuilder.Build();
    long received = 0;
    sink.MapPost("/v1/{signal}", async (HttpContext h) => { await h.Request.Body.CopyToAsync(Stream.Null); Interlocked.Increment(ref received); });
    await sink.StartAsync();
    Console.WriteLine($"exporting off / on / off, streamed, {seconds:0.#} s per measurement, {Environment.ProcessorCount} CPUs");
    Console.WriteLine("| clients | exporting | requests | req/s | p50 ms | p99 ms |");
    Console.WriteLine("|---:|---|---:|---:|---:|---:|");
    foreach (var c in levels)
    {
        await MeasureAsync(http, offUrl + "/api/v1/chat/completions", Target.Proxy, clients, c, 1);
        Print(c, "off", await MeasureAsync(http, offUrl + "/api/v1/chat/completions", Target.Proxy, clients, c, seconds));
        var dir = Path.Combine(root, "exporting");
        Directory.CreateDirectory(dir);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Default"] = cs, ["Codebuff:DataDir"] = dir, ["Codebuff:Upstream:BaseUrl"] = fakeUrl + "/v1", ["Codebuff:Upstream:ReportsCost"] = "true",
            ["Codebuff:Chat:RateLimitPerMinute"] = "10000000", ["Codebuff:Chat:RateLimitBurst"] = "10000000",
            ["Codebuff:AuthSecret"] = "bench-auth-secret", ["Codebuff:Byok:MasterKey"] = "bench-byok-master-key",
            ["Codebuff:Metrics:Prometheus"] = "true",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Loopback.Address(sink), ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using (var on = ServerApp.Build(builder))
        {
            await on.StartAsync();
            var onUrl = Loopback.Address(on);
            using var stop = new CancellationTokenSource();
            var scraper = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try { await http.GetStringAsync(onUrl + "/metrics", stop.Token); await Task.Delay(1000, stop.Token); }
                    catch (OperationCanceledException) { }
                }
            });
            await MeasureAsync(http, onUrl + "/api/v1/chat/completions", Target.Proxy, clients, c, 1);
            Print(c, "on (OTLP + Prometheus)", await MeasureAsync(http, onUrl + "/api/v1/chat/completions", Target.Proxy, clients, c, seconds));
            stop.Cancel();
            await scraper;
        }
        Print(c, "off again", await MeasureAsync(http, offUrl + "/api/v1/chat/completions", Target.Proxy, clients, c, seconds));
    }
    Console.WriteLine($"OTLP export requests received by the sink: {Interlocked.Read(ref received)}");
    await sink.DisposeAsync();
}

static async Task<Stats> SelectOneAsync(string cs, double seconds)
{
    await using var conn = new NpgsqlConnection(cs);
    await conn.OpenAsync();
    await using var cmd = new NpgsqlCommand("SELECT 1", conn);
    var times = new List<double>();
    var stop = Stopwatch.StartNew();
    while (stop.Elapsed.TotalSeconds < Math.Min(seconds, 3))
    {
        var t = Stopwatch.GetTimestamp();
        await cmd.ExecuteScalarAsync();
        times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
    }
    var sorted = times.Order().ToArray();
    return new Stats(sorted.Length, sorted.Length / stop.Elapsed.TotalSeconds, Percentile(sorted, 0.5), Percentile(sorted, 0.99));
}

// CPU time (user + system) of a process from /proc, in ms; 0 where /proc cannot tell (not Linux, process gone).
static double CpuMs(int pid)
{
    try
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields from the 3rd (state) on
        return (long.Parse(fields[11]) + long.Parse(fields[12])) * 1000.0 / 100; // utime, stime in clock ticks (USER_HZ 100)
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return 0; }
}

// The bench cluster's CPU: its postmaster (first line of postmaster.pid) and the backends it forked.
static double PostgresCpuMs(string root)
{
    var pidFile = Directory.GetFiles(root, "postmaster.pid", SearchOption.AllDirectories).FirstOrDefault();
    if (pidFile is null || !int.TryParse(File.ReadLines(pidFile).First(), out var postmaster)) return 0;
    var total = CpuMs(postmaster);
    foreach (var dir in Directory.GetDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
        try
        {
            var stat = File.ReadAllText($"{dir}/stat");
            if (int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]) == postmaster) total += CpuMs(pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
    }
    return total;
}

static async Task<Stats> MeasureAsync(HttpClient http, string url, Target target, List<BenchClient> benchClients, int clients, double seconds, bool stream = true)
{
    var stop = Stopwatch.StartNew();
    var latencies = new List<double>[clients];
    var errors = 0;
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async w =>
    {
        latencies[w] = [];
        var body = $$$"""{"model":"bench/model","stream":{{{(stream ? "true" : "false")}}},"messages":[{"role":"user","content":"hello"}],"codebuff_metadata":{"run_id":"{{{benchClients[w].RunId}}}","client_id":"bench"}}""";
        while (stop.Elapsed.TotalSeconds < seconds)
        {
            var t = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (target.Authenticate) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", benchClients[w].ApiKey);
            if (target.PortkeyHost is { } host)
            {
                request.Headers.Add("x-portkey-provider", "openai");
                request.Headers.Add("x-portkey-custom-host", host + "/v1");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "bench");
            }
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode || (stream && !text.Contains("[DONE]")) || !text.Contains("\"cost\""))
            {
                if (Interlocked.Increment(ref errors) == 1) Console.WriteLine($"  first failure from {url}: {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
            }
            if (Environment.GetEnvironmentVariable("BENCH_DEBUG") is not null && latencies[w].Count == 0 && w == 0) Console.WriteLine($"  sample {url}: {(int)response.StatusCode} {text.Length} chars");
            latencies[w].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
    }));
    var all = latencies.SelectMany(l => l).Order().ToArray();
    if (errors > 0) Console.WriteLine($"  ({errors} failed requests against {url})");
    return new Stats(all.Length, all.Length / stop.Elapsed.TotalSeconds, Percentile(all, 0.50), Percentile(all, 0.99));
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static void Print(int c, string target, Stats s) => Console.WriteLine($"| {c} | {target} | {s.Count} | {s.Rps:0.0} | {s.P50:0.00} | {s.P99:0.00} |");

// bench/portkey/install.sh's install, looked for from the working directory and from the build output upwards.
static string? InstalledPortkey()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "bench", "portkey", "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
            if (File.Exists(path)) return path;
        }
    return null;
}

// The version of a package installed beside the gateway (start-server.js is node_modules/@portkey-ai/gateway/build/).
static string PackageVersion(string startServer, string package)
{
    var modules = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(startServer)!, "..", "..", ".."));
    var file = Path.Combine(modules, package, "package.json");
    return File.Exists(file) ? (string?)JsonNode.Parse(File.ReadAllText(file))?["version"] ?? "?" : "?";
}

static string NodeVersion()
{
    using var node = Process.Start(new ProcessStartInfo("node", ["--version"]) { RedirectStandardOutput = true })!;
    var version = node.StandardOutput.ReadToEnd().Trim();
    node.WaitForExit();
    return version;
}

static async Task<WebApplication> StartFakeProviderAsync(int chunks)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    var app = builder.Build();
    app.MapPost("/v1/chat/completions", async (HttpContext context) =>
    {
        var request = await new StreamReader(context.Request.Body).ReadToEndAsync();
        var id = $"gen-{Guid.NewGuid():N}";
        if (!request.Contains("\"stream\":true"))
        {
            context.Response.ContentType = "application/json";
            var content = string.Concat(Enumerable.Range(0, chunks).Select(i => $"word{i} "));
            await context.Response.WriteAsync("{\"id\":\"" + id + "\",\"object\":\"chat.completion\",\"created\":1730000000,\"model\":\"bench/model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + content + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":" + chunks + ",\"total_tokens\":" + (100 + chunks) + ",\"cost\":0.0123,\"cost_details\":{\"upstream_inference_cost\":0}}}");
            return;
        }
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

// The plainest gateway: forwards the body, streams the answer back, nothing else.
static async Task<WebApplication> StartPassThroughAsync(string providerUrl)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    var app = builder.Build();
    var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 });
    Loopback.MapPassThrough(app, client, providerUrl);
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

sealed record Stats(int Count, double Rps, double P50, double P99);
sealed record BenchClient(string ApiKey, string RunId);
sealed record Target(bool Authenticate, string? PortkeyHost)
{
    public static readonly Target Direct = new(false, null), Proxy = new(true, null);
    public static Target Portkey(string fakeHost) => new(false, fakeHost);
}
