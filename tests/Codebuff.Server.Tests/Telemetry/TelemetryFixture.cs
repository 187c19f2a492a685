using System.Diagnostics;
using Codebuff.Server.Telemetry;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Codebuff.Server.Tests.Telemetry;

/// <summary>
/// The chat server with /metrics on (token and a site admin), listening on every interface so that a request can come
/// from a non-loopback address, and its traces going to the OpenTelemetry in-memory exporter. Only traces a test
/// started itself (a sampled parent) are recorded: the other tests' hosts in this process share the span sources.
/// </summary>
public sealed class TelemetryFixture : ChatFixture
{
    public const string MetricsToken = "metrics-token-0123456789";
    public const string Instance = "otel-test-instance";
    public string AdminEmail { get; } = $"otel-admin-{Guid.NewGuid():N}@example.com";

    readonly List<Activity> _spans = [];

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Metrics:Prometheus"] = "true";
        s["Codebuff:Metrics:Token"] = MetricsToken;
        s["Codebuff:Metrics:InstanceName"] = Instance;
        s["Codebuff:Admins:0"] = AdminEmail;
        s["Kestrel:Endpoints:Http:Url"] = "http://0.0.0.0:0";
        return s;
    }

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddOpenTelemetry().WithTracing(t => TelemetrySetup.Tracing(t)
            .SetSampler(new ParentBasedSampler(new AlwaysOffSampler()))
            .AddInMemoryExporter(_spans));

    public int Port => BaseAddress.Port;

    /// <summary>The finished spans of one trace (the exporter adds under its own lock; a copy is retried if it races).</summary>
    public List<Activity> SpansOf(ActivityTraceId trace)
    {
        while (true)
        {
            try { return [.. _spans.ToArray().Where(a => a.TraceId == trace)]; }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
        }
    }

    /// <summary>Waits until the trace holds a span matching <paramref name="done"/> (spans end after the response is read).</summary>
    public async Task<List<Activity>> WaitForSpansAsync(ActivityTraceId trace, Func<List<Activity>, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var spans = SpansOf(trace);
            if (done(spans) || clock.Elapsed > TimeSpan.FromSeconds(20)) return spans;
            await Task.Delay(50);
        }
    }

    /// <summary>A root activity as a client's (the CLI's) own: sampled, W3C, so the server's spans join its trace.</summary>
    public static Activity StartClientTrace()
    {
        var root = new Activity("test client action").SetIdFormat(ActivityIdFormat.W3C);
        root.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        return root.Start();
    }

    readonly Lazy<Task<TestUser>> _admin;
    public TelemetryFixture() => _admin = new(() => CreateUserAsync(email: AdminEmail));

    /// <summary>The site admin (created once: e-mails are unique).</summary>
    public Task<TestUser> CreateAdminAsync() => _admin.Value;
}
