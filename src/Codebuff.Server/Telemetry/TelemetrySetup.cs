using System.Net;
using System.Security.Cryptography;
using System.Text;
using Codebuff.Server.Billing;
using Codebuff.Server.Web;
using Microsoft.AspNetCore.Authentication;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Codebuff.Server.Telemetry;

/// <summary>
/// OpenTelemetry for the server: OTLP traces and metrics when the standard OTEL_EXPORTER_OTLP_* variables name an
/// endpoint, Prometheus at /metrics when Codebuff:Metrics:Prometheus is true. With neither, no provider is registered:
/// no span is created (ActivitySource without listeners) and only the operator page's listener reads the instruments.
/// </summary>
public static class TelemetrySetup
{
    public const string MetricsPath = "/metrics";

    public static void AddTelemetry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        var section = config.GetSection("Codebuff:Metrics");
        var options = section.Get<MetricsOptions>() ?? new MetricsOptions();
        services.Configure<MetricsOptions>(section);
        services.AddSingleton<HealthFigures>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthFigures>());

        var traces = Configured(config, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        var metrics = Configured(config, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        if (!traces && !metrics && !options.Prometheus) return;
        var otel = services.AddOpenTelemetry().ConfigureResource(r =>
        {
            // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the SDK; this is only the default.
            if (string.IsNullOrEmpty(config["OTEL_SERVICE_NAME"])) r.AddService("codebuff-server", serviceInstanceId: options.Instance);
            else r.AddAttributes([new("service.instance.id", options.Instance)]);
        });
        if (traces) otel.WithTracing(t => Tracing(t).AddOtlpExporter());
        otel.WithMetrics(m =>
        {
            Metrics(m);
            if (metrics) m.AddOtlpExporter();
            // Every scrape sees the counts of that moment (the exporter caches 300 ms by default).
            if (options.Prometheus) m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
        });
    }

    /// <summary>OTEL_EXPORTER_OTLP_ENDPOINT or the signal's own endpoint variable is set.</summary>
    static bool Configured(IConfiguration config, string signalEndpoint) =>
        !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrWhiteSpace(config[signalEndpoint]);

    /// <summary>What the server traces: its own spans, incoming requests, outgoing HTTP and its SQL (Npgsql).</summary>
    public static TracerProviderBuilder Tracing(TracerProviderBuilder t) => t
        .AddSource(Instruments.Name)
        .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments(MetricsPath))
        .AddHttpClientInstrumentation()
        .AddNpgsql();

    /// <summary>What the server measures: its own instruments, billing's, requests, outgoing HTTP, the runtime, the connection pool.</summary>
    public static MeterProviderBuilder Metrics(MeterProviderBuilder m) => m
        .AddMeter(Instruments.Name, ChargeQueue.Meter.Name)
        .AddAspNetCoreInstrumentation()
        .AddHttpClientInstrumentation()
        .AddRuntimeInstrumentation()
        .AddNpgsqlInstrumentation();

    public static void MapTelemetry(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value.Prometheus) return;
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            if (await RefusalAsync(http) is { } refusal) await refusal.ExecuteAsync(http);
            else await next(http);
        }), optionsName: null).ExcludeFromDescription();
    }

    /// <summary>
    /// /metrics is answered to loopback clients, to a bearer of Codebuff:Metrics:Token (compared in constant time), and
    /// to signed-in site admins; anyone else gets 401 (no credential) or 403, with a JSON body. A loopback request that
    /// carries a proxy's forwarding header is not a local client: behind a reverse proxy on the same host every
    /// request comes from loopback (and with forwarded headers on, X-Forwarded-For: 127.0.0.1 would fake one).
    /// </summary>
    static async Task<CodedResult?> RefusalAsync(HttpContext http)
    {
        if (http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip) && !Forwarded(http.Request)) return null;
        var token = http.RequestServices.GetRequiredService<IOptions<MetricsOptions>>().Value.Token;
        var presented = Credentials.HeaderToken(http.Request);
        if (!string.IsNullOrEmpty(token) && presented is not null
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(token))))
            return null;
        await http.AuthenticateAsync(CallerAuthentication.CookieOrApiKey);
        if (http.Features.Get<Caller>()?.User is null && presented is null)
            return Errors.Coded(401, "unauthorized", "/metrics needs a loopback client, the metrics token or a site admin's session.");
        return Dashboard.IsAdmin(http) ? null
            : Errors.Coded(403, "forbidden", "/metrics is for loopback clients, the metrics token and site admins.");
    }

    static readonly string[] ForwardingHeaders = ["X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Forwarded"];

    static bool Forwarded(HttpRequest request) => ForwardingHeaders.Any(request.Headers.ContainsKey);
}
