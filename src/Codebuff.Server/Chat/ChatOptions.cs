namespace Codebuff.Server.Chat;

/// <summary>
/// Section "Codebuff:Upstream": the provider chat completions are forwarded to when no "Codebuff:Providers" list is set
/// (<see cref="ProviderRoutes"/>); its timeouts apply to every provider.
/// </summary>
public sealed class UpstreamOptions
{
    /// <summary>Base URL; "/chat/completions" is appended. Any OpenAI-compatible server works.</summary>
    public string BaseUrl { get; set; } = "https://openrouter.ai/api/v1";

    /// <summary>The server's own provider key, sent as "Authorization: Bearer" unless the caller brings its own (BYOK).</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long to wait for the provider's response headers (api.md §2.5.4: 10 minutes).</summary>
    public double TimeoutSeconds { get; set; } = 600;

    /// <summary>
    /// How long a started stream may stay silent (no bytes at all, comments included) before it is abandoned. Generous,
    /// because reasoning models on plain OpenAI-compatible servers may think for minutes before their first token.
    /// </summary>
    public double IdleTimeoutSeconds { get; set; } = 600;

    /// <summary>
    /// OpenRouter gets the body as Codebuff sends it plus usage.include; other providers get stream_options.include_usage
    /// and no Codebuff/OpenRouter extensions. Unset: decided by the base URL's host. Ignored when <see cref="Kind"/> is set.
    /// </summary>
    public bool? IsOpenRouter { get; set; }

    /// <summary>"openai", "openrouter" or "anthropic" (<see cref="ProviderDialect.Kinds"/>); unset: <see cref="IsOpenRouter"/> decides.</summary>
    public string? Kind { get; set; }

    /// <summary>As <see cref="ProviderOptions.ReportsCost"/>.</summary>
    public bool? ReportsCost { get; set; }
}

/// <summary>Section "Codebuff:Chat": behaviour of POST /api/v1/chat/completions.</summary>
public sealed class ChatOptions
{
    /// <summary>Seconds between SSE heartbeat comments while the provider is silent (api.md §2.5.4: 30).</summary>
    public double HeartbeatSeconds { get; set; } = 30;

    /// <summary>Per-user chat completions allowed per minute (token bucket refilled every second).</summary>
    public int RateLimitPerMinute { get; set; } = 600;

    /// <summary>Per-user burst: how many calls may start at once before the per-minute rate applies.</summary>
    public int RateLimitBurst { get; set; } = 120;

    /// <summary>
    /// Most output tokens a call's reservation counts (it counts min(max_tokens, this)): the credits held while a call is
    /// in flight (README "Credits held by calls in progress").
    /// </summary>
    public int ReservedOutputTokens { get; set; } = 4000;

    /// <summary>Free mode: the most max_tokens (and max_completion_tokens) forwarded; the SDK asks for 32,000.</summary>
    public int FreeModeMaxTokens { get; set; } = 32000;

    /// <summary>Free mode: the most answers one call may ask for (the body's n and codebuff_metadata.n).</summary>
    public int FreeModeMaxN { get; set; } = 1;

    /// <summary>Named in the suspended-account message.</summary>
    public string SupportEmail { get; set; } = "support@codebuff.com";
}
