using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Codebuff.Server.Telemetry;

/// <summary>
/// The server's own span source and instruments, named as the OpenTelemetry GenAI conventions (gen-ai 1.42.0) name
/// them where they have a name. Nothing here costs more than a null check until a listener (an OpenTelemetry
/// provider, the operator page's <see cref="HealthFigures"/>) subscribes. Attributes never hold message content, keys
/// or e-mail addresses: only models, providers, counts, durations and outcomes.
/// </summary>
public static class Instruments
{
    public const string Name = "Codebuff.Server";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    /// <summary>The conventions' advised boundaries for gen_ai.client.operation.duration (and time to first chunk).</summary>
    static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    /// <summary>The conventions' advised boundaries for gen_ai.client.token.usage.</summary>
    static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
    /// <summary>Our overhead is milliseconds, not seconds: finer boundaries than the provider's durations.</summary>
    static readonly double[] OverheadBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5];

    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram("gen_ai.client.token.usage", "{token}",
        "Number of input and output tokens used", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });

    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram("gen_ai.client.operation.duration", "s",
        "GenAI operation duration: from sending the request to the provider to the end of its answer",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    public static readonly Histogram<double> TimeToFirstChunk = Meter.CreateHistogram("gen_ai.client.operation.time_to_first_chunk", "s",
        "Time from sending a streamed request to the provider to its first chunk",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    public static readonly Histogram<double> Overhead = Meter.CreateHistogram("codebuff.chat.overhead", "s",
        "The proxy's own time per call: the request's time not spent waiting on the provider, billing included",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OverheadBuckets });

    public static readonly Counter<long> Refusals = Meter.CreateCounter<long>("codebuff.chat.refusals", "{call}",
        "Chat calls the gates refused (402 credits, 429 rate limit, 403 free mode)");

    public static readonly UpDownCounter<long> ReservationsInFlight = Meter.CreateUpDownCounter<long>("codebuff.chat.reservations_in_flight", "{reservation}",
        "Credit holds taken by calls still in flight on this instance");

    public static readonly Counter<long> CreditsBilled = Meter.CreateCounter<long>("codebuff.billing.credits_billed", "{credit}",
        "Credits charged for chat calls, by owner kind");

    public static readonly Counter<long> SyncFailures = Meter.CreateCounter<long>("codebuff.sync_failures", "{failure}",
        "Rows recorded in sync_failure (a charge the database refused, a payment event that failed)");

    /// <summary>The refusal reasons <see cref="Refused"/> takes; the page lists them.</summary>
    public static class Reasons
    {
        public const string OutOfCredits = "out_of_credits", OrgLimit = "org_limit", CreditsHeld = "credits_held",
            RateLimit = "rate_limit", FreeModeInvalid = "free_mode_invalid";
    }

    public static void Refused(int status, string reason) =>
        Refusals.Add(1, new KeyValuePair<string, object?>("http.response.status_code", status), new KeyValuePair<string, object?>("codebuff.refusal.reason", reason));

    public static void SyncFailed(string provider) => SyncFailures.Add(1, new KeyValuePair<string, object?>("codebuff.sync.provider", provider));
}
