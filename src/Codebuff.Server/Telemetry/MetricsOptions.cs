namespace Codebuff.Server.Telemetry;

/// <summary>Section "Codebuff:Metrics".</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve /metrics in Prometheus text format (to loopback, site admins, and <see cref="Token"/>).</summary>
    public bool Prometheus { get; set; }

    /// <summary>A bearer token that may read /metrics from another host (a Prometheus elsewhere); unset: none may.</summary>
    public string? Token { get; set; }

    /// <summary>This instance's name on /admin/health and in the exported resource (service.instance.id).</summary>
    public string? InstanceName { get; set; }

    public string Instance => string.IsNullOrWhiteSpace(InstanceName) ? Environment.MachineName : InstanceName;
}
