namespace Codebuff.Server.Orgs;

/// <summary>Section "Codebuff:Alerts".</summary>
public sealed class AlertOptions
{
    /// <summary>How often each instance sends due weekly reports and re-evaluates orgs with open alerts.</summary>
    public double SweepSeconds { get; set; } = 60;
}
