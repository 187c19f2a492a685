namespace Codebuff.Server.Payments;

/// <summary>The "Codebuff:Stripe" section. Without a secret key every payment route answers 503 and nothing calls Stripe.</summary>
public sealed class StripeOptions
{
    public string? SecretKey { get; set; }

    /// <summary>Signing secret of the webhook endpoint (whsec_…); webhooks are refused without it.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Stripe's API origin; tests point it at a loopback fake.</summary>
    public string ApiBase { get; set; } = "https://api.stripe.com";

    /// <summary>How often the background service looks for sync_failure rows due for a retry; the backoff doubles from here.</summary>
    public double RetryIntervalSeconds { get; set; } = 60;

    public bool Configured => !string.IsNullOrWhiteSpace(SecretKey);
}
