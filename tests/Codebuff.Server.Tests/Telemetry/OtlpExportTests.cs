using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Codebuff.Server.Tests.Telemetry;

/// <summary>
/// The real server executable with the standard OTEL_* variables set sends OTLP over HTTP (protobuf) to a loopback
/// receiver; the bodies are decoded without schema files by Debian's `protoc --decode_raw`.
/// </summary>
public sealed class OtlpExportTests : IAsyncLifetime
{
    readonly FakeUpstream _upstream = new();
    WebApplication? _receiver;
    readonly ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> _received = new();
    string _receiverUrl = "";
    readonly string _dataDir = Path.Combine(Path.GetTempPath(), "cb-otlp-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        await _upstream.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _receiver = builder.Build();
        _receiver.MapPost("/v1/{signal}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            _received.Enqueue((http.Request.Path, http.Request.ContentType, body.ToArray()));
            http.Response.ContentType = "application/x-protobuf";
        });
        await _receiver.StartAsync();
        _receiverUrl = _receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public async Task DisposeAsync()
    {
        if (_receiver is not null) await _receiver.DisposeAsync();
        await _upstream.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public async Task With_the_standard_variables_set_traces_and_metrics_arrive_as_OTLP_protobuf_without_prompts_keys_or_e_mail()
    {
        var database = await TestCluster.CreateDatabaseAsync();
        var env = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Default"] = database, ["Codebuff__DataDir"] = _dataDir,
            ["Codebuff__Upstream__BaseUrl"] = _upstream.BaseUrl, ["Codebuff__Upstream__ApiKey"] = "server-provider-key", ["Codebuff__Upstream__ReportsCost"] = "true",
        };
        var email = $"otlp{Guid.NewGuid():N}@example.com";
        var created = await ServerProcess.RunAsync(["admin", "create-user", "--email", email, "--credits", "1000"], env);
        Assert.True(created.ExitCode == 0, created.Stderr);
        var apiKey = (string)JsonNode.Parse(created.Stdout.Trim())!["apiKey"]!;

        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiverUrl;
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        env["OTEL_SERVICE_NAME"] = "codebuff-otlp-test";
        env["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        env["OTEL_METRIC_EXPORT_INTERVAL"] = "500";
        var port = ServerProcess.FreePort();
        await using var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{port}"], env);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try { if ((await http.GetAsync("/api/healthz")).IsSuccessStatusCode) break; }
            catch (HttpRequestException) { }
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(4), $"the server never became healthy: {server.OutputSoFar}");
            await Task.Delay(250);
        }

        var run = await http.PostAsync("/api/v1/agent-runs", new StringContent("""{"action":"START","agentId":"greeter","ancestorRunIds":[]}"""));
        var runId = (string)(await run.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!;
        var prompt = $"secret prompt {Guid.NewGuid():N}";
        var body = ChatFixture.ChatBody("test/model", runId);
        body["messages"]![0]!["content"]![0]!["text"] = prompt;
        var response = await http.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", await response.Content.ReadAsStringAsync());

        // Batches arrive within a second or so. Protobuf keeps strings as UTF-8, so the wait looks for the span and
        // metric names in the raw bodies, and only the bodies holding them are decoded: decoding every body (the
        // start-up's database spans, metrics every 500 ms) one protoc process at a time fell behind on a loaded CI
        // machine and missed the deadline.
        static bool Holds(byte[] body, string text) => body.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
        string[] spanNames = ["chat test/model", "charge", "POST /api/v1/chat/completions"];
        string[] metricNames = ["gen_ai.client.token.usage", "gen_ai.client.operation.duration", "codebuff.billing.charges_committed"];
        bool IsMetrics((string Path, string? ContentType, byte[] Body) r) =>
            r.Path == "/v1/metrics" && metricNames.All(name => Holds(r.Body, name)); // cumulative: one export holds them all
        (string Path, string? ContentType, byte[] Body)[] all = [];
        var waited = Stopwatch.StartNew();
        while (!(spanNames.All(name => all.Any(r => r.Path == "/v1/traces" && Holds(r.Body, name))) && all.Any(IsMetrics))
            && waited.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(500);
            all = _received.ToArray();
        }
        Assert.All(all, r => Assert.Equal("application/x-protobuf", r.ContentType));
        var traceText = new System.Text.StringBuilder();
        var metricText = new System.Text.StringBuilder();
        foreach (var r in all.Where(r => r.Path == "/v1/traces" && spanNames.Any(name => Holds(r.Body, name))))
            traceText.AppendLine(await DecodeRawAsync(r.Body));
        foreach (var r in all.Where(IsMetrics).Take(1))
            metricText.AppendLine(await DecodeRawAsync(r.Body));
        var (traces, metrics) = (traceText.ToString(), metricText.ToString());
        Assert.Contains("\"chat test/model\"", traces);
        Assert.Contains("\"gen_ai.provider.name\"", traces);
        Assert.Contains("\"gen_ai.usage.input_tokens\"", traces);
        Assert.Contains("\"POST /api/v1/chat/completions\"", traces);
        Assert.Contains("\"codebuff-otlp-test\"", traces);
        Assert.Contains("\"charge\"", traces);
        Assert.Contains("\"gen_ai.client.token.usage\"", metrics);
        Assert.Contains("\"gen_ai.client.operation.duration\"", metrics);
        Assert.Contains("\"codebuff.billing.charges_committed\"", metrics);

        var raw = string.Join("\n", _received.Select(r => System.Text.Encoding.UTF8.GetString(r.Body))) + traces + metrics;
        foreach (var secret in new[] { prompt, "Hello from the fake provider", apiKey, "server-provider-key", email, "@example.com" })
            Assert.DoesNotContain(secret, raw);
        server.Interrupt();
    }

    static async Task<string> DecodeRawAsync(byte[] body)
    {
        var psi = new ProcessStartInfo("protoc", "--decode_raw") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var protoc = Process.Start(psi)!;
        await protoc.StandardInput.BaseStream.WriteAsync(body);
        protoc.StandardInput.Close();
        var output = protoc.StandardOutput.ReadToEndAsync();
        var error = await protoc.StandardError.ReadToEndAsync();
        await protoc.WaitForExitAsync();
        Assert.True(protoc.ExitCode == 0, error);
        return await output;
    }
}
