using System.Diagnostics;
using System.Globalization;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Telemetry;

/// <summary>Debian's `prometheus` scraping one target's /metrics every second, queried through its HTTP API.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    readonly Process _process;
    readonly string _dir;
    readonly HttpClient _api;

    PrometheusServer(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        _api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public static PrometheusServer Start(int targetPort)
    {
        var dir = Path.Combine(Path.GetTempPath(), "cb-prom-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: codebuff
                metrics_path: /metrics
                static_configs:
                  - targets: ["127.0.0.1:{targetPort}"]
            """);
        var port = ServerProcess.FreePort();
        var psi = new ProcessStartInfo("prometheus") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/data", $"--web.listen-address=127.0.0.1:{port}" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new PrometheusServer(process, dir, port);
    }

    /// <summary>An instant query's single value (summed by the query itself), or null while it has no series.</summary>
    public async Task<double?> QueryAsync(string promql)
    {
        try
        {
            var json = await _api.GetFromJsonAsync<JsonObject>("/api/v1/query?query=" + Uri.EscapeDataString(promql));
            var result = json!["data"]!["result"]!.AsArray();
            return result.Count == 0 ? null : double.Parse((string)result[0]!["value"]![1]!, CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException) { return null; }
    }

    /// <summary>Waits (scrapes are a second apart) until the query answers <paramref name="expected"/>; returns the last answer.</summary>
    public async Task<double?> WaitForAsync(string promql, Func<double, bool> expected, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        double? value;
        while (!((value = await QueryAsync(promql)) is { } v && expected(v)) && clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(40)))
            await Task.Delay(250);
        return value;
    }

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
