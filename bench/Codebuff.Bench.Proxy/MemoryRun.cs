// --memory: 1,000 concurrent streams against the server as it ships, run as its own process (a published build, its
// own runtimeconfig, Production, no DOTNET_* settings), with its resident set read from /proc; the same-run baseline is
// a bare ASP.NET Core pass-through gateway (this driver with --bare-gateway: Kestrel + HttpClient, as the Web SDK
// ships them) in its own process under the same streams.
//   dotnet publish src/Codebuff.Server -c Release -o dist/server
//   dotnet run -c Release --project bench/Codebuff.Bench.Proxy -- --memory [--streams 1000] [--wait 2] [--runs 3]
//       [--server dist/server/Codebuff.Server.dll] [--server-env NAME=VALUE,…] [--smaps DIR]
// --smaps DIR keeps each process's /proc/PID/smaps after start, at its highest sampled RSS and when idle, for
// bench/smaps-summary.py (resident memory by mapping: assemblies, the GC heap, the runtime's double-mapped code).
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

static class MemoryRun
{
    const int Users = 16;

    public static async Task RunAsync(string[] args)
    {
        var streams = (int)Arg(args, "--streams", 1000);
        var wait = Arg(args, "--wait", 2);
        var runs = (int)Arg(args, "--runs", 3);
        var idleSeconds = Arg(args, "--idle", 30);
        var serverDll = Path.GetFullPath(ArgText(args, "--server") ?? FindUp(Path.Combine("dist", "server", "Codebuff.Server.dll"))
            ?? throw new InvalidOperationException("no server build: run `dotnet publish src/Codebuff.Server -c Release -o dist/server` or pass --server <dll>"));
        // Experiments only: settings given to the server process that it does not ship with.
        var smapsDir = ArgText(args, "--smaps") is { } sd ? Directory.CreateDirectory(sd).FullName : null;
        var extraEnv = (ArgText(args, "--server-env") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        var root = Path.Combine(Path.GetTempPath(), "codebuff-bench-mem-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        if (Environment.UserName == "root") File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        var pg = await EmbeddedPostgres.StartAsync(root);
        WebApplication? fake = null;
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = "postgres" }.ConnectionString;
            var options = new DbContextOptionsBuilder<AppDbContext>();
            AppDbContext.Configure(options, cs);
            await using (var db = new AppDbContext(options.Options)) await db.Database.MigrateAsync();
            var inFlight = new InFlight();
            fake = await StartPacedProviderAsync(wait, 20, inFlight);
            var fakeUrl = Loopback.Address(fake);

            var settings = new Dictionary<string, string?>
            {
                ["ConnectionStrings__Default"] = cs,
                ["Codebuff__Upstream__BaseUrl"] = fakeUrl + "/v1",
                ["Codebuff__Upstream__ReportsCost"] = "true", // the fake reports cost; its model is not in our price table
                // The only settings changed from the shipped defaults: the per-user rate limit would refuse the load.
                ["Codebuff__Chat__RateLimitPerMinute"] = "10000000",
                ["Codebuff__Chat__RateLimitBurst"] = "10000000",
                ["Codebuff__AuthSecret"] = "bench-auth-secret",
                ["Codebuff__Byok__MasterKey"] = "bench-byok-master-key",
            };
            var apiKeys = await CreateUsersAsync(cs, root);

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4096, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromMinutes(3) };
            Console.WriteLine($"{streams} concurrent streams; the provider holds each until all are open, waits {wait:0.#} s more, then sends 20 chunks 50 ms apart; server: {serverDll}; {Environment.ProcessorCount} CPUs; idle = RSS {idleSeconds:0} s after the last stream");
            if (extraEnv.Count > 0) Console.WriteLine($"server environment added (experiment, not shipped): {string.Join(", ", extraEnv.Select(p => p.Key + "=" + p.Value))}");
            Console.WriteLine("| run | process | RSS after start MiB | peak RSS (VmHWM) MiB | RSS idle after MiB | of which anon MiB | streams answered | max provider streams open |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
            var results = new List<(Figures Server, Figures Bare)>();
            for (var run = 1; run <= runs; run++)
            {
                var dataDir = Path.Combine(root, $"server{run}");
                Directory.CreateDirectory(dataDir);
                var serverFigures = await MeasureProcessAsync("server", ["dotnet", serverDll], settings, extraEnv, dataDir, http, smapsDir is null ? null : Path.Combine(smapsDir, $"server-{run}"), async url =>
                {
                    var runIds = new List<string>();
                    foreach (var key in apiKeys)
                    {
                        using var start = new HttpRequestMessage(HttpMethod.Post, url + "/api/v1/agent-runs") { Content = new StringContent("""{"action":"START","agentId":"bench","ancestorRunIds":[]}""") };
                        start.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                        using var response = await http.SendAsync(start);
                        runIds.Add((string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["runId"]!);
                    }
                    return i => (url + "/api/v1/chat/completions", apiKeys[i % Users], runIds[i % Users]);
                }, streams, idleSeconds, inFlight, cs);
                var bare = await MeasureProcessAsync("bare ASP.NET Core gateway", ["dotnet", typeof(MemoryRun).Assembly.Location, "--bare-gateway", fakeUrl], new(), new(), root, http, smapsDir is null ? null : Path.Combine(smapsDir, $"bare-{run}"),
                    url => Task.FromResult<Func<int, (string, string?, string?)>>(_ => (url + "/v1/chat/completions", null, null)), streams, idleSeconds, inFlight, null);
                foreach (var (name, f) in new[] { ("server", serverFigures), ("bare gateway", bare) })
                    Console.WriteLine($"| {run} | {name} | {f.AfterStart:0} | {f.Peak:0} | {f.Idle:0} | {f.IdleAnon:0} | {f.Answered}/{streams} | {f.MaxOpen} |");
                results.Add((serverFigures, bare));
            }
            static double Median(IEnumerable<double> values) { var s = values.Order().ToArray(); return s[s.Length / 2]; }
            Console.WriteLine($"median of {runs}: server after start {Median(results.Select(r => r.Server.AfterStart)):0} MiB, peak {Median(results.Select(r => r.Server.Peak)):0} MiB, idle {Median(results.Select(r => r.Server.Idle)):0} MiB; " +
                $"bare gateway after start {Median(results.Select(r => r.Bare.AfterStart)):0} MiB, peak {Median(results.Select(r => r.Bare.Peak)):0} MiB, idle {Median(results.Select(r => r.Bare.Idle)):0} MiB");
            await using (var db = new AppDbContext(options.Options))
            {
                var rows = await db.Messages.CountAsync();
                var billed = await db.Messages.SumAsync(m => m.Credits);
                var consumed = await db.CreditLedger.SumAsync(g => g.Principal - g.Balance);
                Console.WriteLine($"message rows: {rows} (expected {runs * (streams + Users)}); credits billed {billed}, consumed from grants {consumed}: {(billed == consumed ? "consistent" : "INCONSISTENT")}");
            }
        }
        finally
        {
            if (fake is not null) await fake.DisposeAsync();
            await pg.StopAsync();
            try { Directory.Delete(root, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    sealed record Figures(double AfterStart, double Peak, double Idle, double IdleAnon, int Answered, int MaxOpen);

    /// <summary>
    /// Streams open at the provider. Each holds its first chunk until all of the phase's streams are open (or a minute
    /// passed), so that every one of them is in the server at once however slowly a loaded machine admits them.
    /// </summary>
    sealed class InFlight
    {
        int _open, _max, _target = 1;
        TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AllOpen => _all.Task;

        public void Enter()
        {
            var n = Interlocked.Increment(ref _open);
            int m;
            while (n > (m = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, n, m) != m) { }
            if (n >= Volatile.Read(ref _target)) _all.TrySetResult();
        }

        public void Leave() => Interlocked.Decrement(ref _open);

        /// <summary>Starts a phase of <paramref name="streams"/> streams; returns the most that were open in the last one.</summary>
        public int NextPhase(int streams)
        {
            _all.TrySetResult();
            _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _target, streams);
            return Interlocked.Exchange(ref _max, 0);
        }
    }

    /// <summary>
    /// Starts the process, waits for it to listen, warms it with one stream per user, reads its RSS, sends the
    /// concurrent streams, waits for every charge (server only), then reads its peak and, after the idle period, its RSS.
    /// </summary>
    static async Task<Figures> MeasureProcessAsync(string name, string[] command, Dictionary<string, string?> env, Dictionary<string, string> extraEnv, string workDir, HttpClient http, string? smaps,
        Func<string, Task<Func<int, (string Url, string? Key, string? RunId)>>> prepare, int streams, double idleSeconds, InFlight inFlight, string? cs)
    {
        var port = Loopback.FreePort();
        var start = new ProcessStartInfo(command[0]) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        // As shipped: nothing from this environment may change the runtime's settings.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal) && !k.StartsWith("DOTNET_CLI", StringComparison.Ordinal) || k.StartsWith("COMPlus_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        start.Environment["Codebuff__DataDir"] = workDir;
        foreach (var (k, v) in env) start.Environment[k] = v;
        foreach (var (k, v) in extraEnv) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var log = new List<string>();
        process.OutputDataReceived += (_, e) => { lock (log) if (e.Data is not null && log.Count < 20) log.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) if (e.Data is not null && log.Count < 20) log.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var url = $"http://127.0.0.1:{port}";
            for (var i = 0; ; i++)
            {
                try { using var probe = await http.GetAsync(url + (cs is null ? "/" : "/api/healthz")); if ((int)probe.StatusCode < 500) break; }
                catch (HttpRequestException) { }
                if (process.HasExited || i > 600) throw new InvalidOperationException($"{name} did not start: {string.Join("\n", log)}");
                await Task.Delay(100);
            }
            var target = await prepare(url);
            var before = cs is null ? 0 : await MessageCountAsync(cs);
            // Warm-up: one stream per user, so that "after start" is a server that has served its first calls.
            inFlight.NextPhase(Users);
            await StreamsAsync(http, target, Users);
            await Task.Delay(5000);
            var warm = Status(process.Id);
            var afterStart = warm["VmRSS"];
            if (smaps is not null) File.Copy($"/proc/{process.Id}/smaps", smaps + "-start.txt", true);
            Console.WriteLine($"  {name} after start: RSS {warm["VmRSS"]:0}, anon {warm["RssAnon"]:0}, file {warm["RssFile"]:0}, shmem {warm["RssShmem"]:0} MiB, threads {warm["Threads"]:0}");
            inFlight.NextPhase(streams);
            // Sampled while the streams run: where the peak is (anonymous memory, the runtime's double-mapped code and
            // type data, mapped files) and how many threads the process used.
            var peaks = new Dictionary<string, double>();
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                var saved = 0.0;
                while (!sampling.IsCancellationRequested)
                {
                    foreach (var (k, v) in Status(process.Id)) peaks[k] = Math.Max(v, peaks.GetValueOrDefault(k));
                    if (smaps is not null && peaks["VmRSS"] > saved + 1)
                    {
                        saved = peaks["VmRSS"];
                        File.Copy($"/proc/{process.Id}/smaps", smaps + "-peak.txt", true);
                    }
                    try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
                }
            });
            var answered = await StreamsAsync(http, target, streams);
            sampling.Cancel();
            await sampler;
            var maxOpen = inFlight.NextPhase(1);
            Console.WriteLine($"  {name}: sampled maxima during the streams: RSS {peaks["VmRSS"]:0}, anon {peaks["RssAnon"]:0}, file {peaks["RssFile"]:0}, shmem {peaks["RssShmem"]:0} MiB, threads {peaks["Threads"]:0}");
            if (cs is not null)
            {
                // Every stream billed: its message row (the charge may land just after the usage chunk is released).
                var expected = before + Users + streams;
                for (var i = 0; i < 600 && await MessageCountAsync(cs) < expected; i++) await Task.Delay(100);
                var count = await MessageCountAsync(cs);
                if (count != expected) Console.WriteLine($"  BILLING: {count - before} message rows for {Users + streams} calls");
            }
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
            var status = Status(process.Id);
            if (smaps is not null) File.Copy($"/proc/{process.Id}/smaps", smaps + "-idle.txt", true);
            return new Figures(afterStart, status["VmHWM"], status["VmRSS"], status["RssAnon"], answered, maxOpen);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    static async Task<int> StreamsAsync(HttpClient http, Func<int, (string Url, string? Key, string? RunId)> target, int count)
    {
        var ok = 0;
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var (url, key, runId) = target(i);
            var body = $$$"""{"model":"bench/model","stream":true,"messages":[{"role":"user","content":"hello"}],"codebuff_metadata":{"run_id":"{{{runId}}}","client_id":"bench"}}""";
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var text = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode && text.Contains("[DONE]") && text.Contains("\"cost\"")) Interlocked.Increment(ref ok);
                else if (Interlocked.Increment(ref failures) == 1) Console.WriteLine($"  first failure from {url}: {(int)response.StatusCode} {text[..Math.Min(300, text.Length)]}");
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                if (Interlocked.Increment(ref failures) == 1) Console.WriteLine($"  first failure from {url}: {e.Message}");
            }
        }));
        return ok;
    }

    static async Task<long> MessageCountAsync(string cs)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM message", conn);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>The kB figures of /proc/PID/status (VmRSS, VmHWM, RssAnon, …) in MiB, and its thread count.</summary>
    static Dictionary<string, double> Status(int pid) => File.ReadAllLines($"/proc/{pid}/status")
        .Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && (p[1].TrimEnd().EndsWith(" kB") || p[0] == "Threads"))
        .ToDictionary(p => p[0], p => p[0] == "Threads" ? double.Parse(p[1].Trim()) : long.Parse(p[1].Trim()[..^3].Trim()) / 1024.0);

    /// <summary>The bench users (API keys), created through a server built in this process but never started.</summary>
    static async Task<List<string>> CreateUsersAsync(string cs, string root)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Default"] = cs, ["Codebuff:DataDir"] = root,
            ["Codebuff:AuthSecret"] = "bench-auth-secret", ["Codebuff:Byok:MasterKey"] = "bench-byok-master-key",
        });
        await using var app = ServerApp.Build(builder);
        var keys = new List<string>();
        for (var i = 0; i < Users; i++)
        {
            await using var scope = app.Services.CreateAsyncScope();
            keys.Add((await AdminCommands.CreateUserAsync(scope.ServiceProvider, $"mem{i}@example.com", null, null, 100_000_000, CancellationToken.None)).apiKey);
        }
        return keys;
    }

    /// <summary>
    /// An OpenAI-compatible provider that sends its headers at once, waits until the phase's streams are all open, then
    /// <paramref name="seconds"/> more, and then sends its 20 chunks 50 ms apart and the usage chunk.
    /// </summary>
    static async Task<WebApplication> StartPacedProviderAsync(double seconds, int chunks, InFlight inFlight)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var pause = TimeSpan.FromMilliseconds(50);
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            inFlight.Enter();
            try
            {
                await new StreamReader(context.Request.Body).ReadToEndAsync();
                var id = $"gen-{Guid.NewGuid():N}";
                context.Response.ContentType = "text/event-stream";
                context.Features.Get<IHttpResponseBodyFeature>()!.DisableBuffering();
                await context.Response.Body.FlushAsync();
                await Task.WhenAny(inFlight.AllOpen, Task.Delay(TimeSpan.FromMinutes(1)));
                await Task.Delay(TimeSpan.FromSeconds(seconds));
                for (var i = 0; i < chunks; i++)
                {
                    await Task.Delay(pause);
                    await context.Response.WriteAsync($$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":1730000000,"model":"bench/model","choices":[{"index":0,"delta":{"content":"word{{i}} "},"finish_reason":null}]}""" + "\n\n");
                    await context.Response.Body.FlushAsync();
                }
                await context.Response.WriteAsync("data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"bench/model\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":" + chunks + ",\"total_tokens\":" + (100 + chunks) + ",\"cost\":0.0123,\"cost_details\":{\"upstream_inference_cost\":0}}}" + "\n\ndata: [DONE]\n\n");
            }
            finally { inFlight.Leave(); }
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>--bare-gateway PROVIDER --urls URL: the plainest ASP.NET Core gateway, as the Web SDK ships it, in its own process.</summary>
    public static async Task BareGatewayAsync(string[] args)
    {
        var providerUrl = ArgText(args, "--bare-gateway")!;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(ArgText(args, "--urls")!);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue });
        app.MapGet("/", () => "ok");
        Loopback.MapPassThrough(app, client, providerUrl);
        await app.RunAsync();
    }

    static string? FindUp(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        return null;
    }

    static double Arg(string[] args, string name, double fallback) =>
        ArgText(args, name) is { } text ? double.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    static string? ArgText(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
