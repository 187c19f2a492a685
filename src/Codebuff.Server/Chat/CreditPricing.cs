using System.Text.RegularExpressions;

namespace Codebuff.Server.Chat;

/// <summary>Credits for an LLM call (api.md §7.1–7.2) and the local price table for providers that report no cost.</summary>
public static partial class CreditPricing
{
    public const decimal ProfitMargin = 0.055m;

    /// <summary>credits = round(cost_usd × 100 × 1.055), halves up (JavaScript Math.round on non-negative values).</summary>
    public static int Credits(decimal costUsd) => costUsd <= 0 ? 0 : (int)Math.Round(costUsd * 100m * (1 + ProfitMargin), MidpointRounding.AwayFromZero);

    /// <summary>The cost reported back to the client so that the SDK's own formula reproduces the billed credits.</summary>
    public static double ReportedCost(int billedCredits) => billedCredits / (double)(100m * (1 + ProfitMargin));

    // Small helper agents whose cheap calls (under 5 credits) are free — with their own free-mode model only.
    static readonly HashSet<string> FreeAgents = ["file-picker", "file-picker-max", "file-lister", "researcher-web", "researcher-docs"];

    /// <summary>"publisher/agent@version" → (publisher, agent); a bare id has no publisher.</summary>
    public static (string? Publisher, string Agent) ParseAgentId(string agentId)
    {
        var at = agentId.IndexOf('@');
        var withoutVersion = at >= 0 ? agentId[..at] : agentId;
        var slash = withoutVersion.IndexOf('/');
        return slash >= 0 ? (withoutVersion[..slash], withoutVersion[(slash + 1)..]) : (null, withoutVersion);
    }

    /// <summary>
    /// Credits after the free-mode and free-agent rules. A free call costs nothing (its routing was pinned to the
    /// allowed model, <see cref="FreeMode.Pin"/>). A small agent's cheap call is free only when it asked for the agent's
    /// own free-mode model and that model answered: a provider's dated slug of it ("…-20250917") counts as that model,
    /// a fallback to another model (OpenRouter's <c>models</c>) does not.
    /// </summary>
    public static int ApplyFreeRules(int credits, string agentId, bool freeMode, string requestedModel, string answeredModel)
    {
        if (freeMode) return 0;
        var (_, agent) = ParseAgentId(agentId);
        return credits < 5 && FreeAgents.Contains(agent) && FreeMode.AllowedModel(agentId) is { } allowed
               && requestedModel == allowed && answeredModel.StartsWith(allowed, StringComparison.OrdinalIgnoreCase)
            ? 0 : credits;
    }

    // [our choice] USD per million tokens (input, cached input, output) for providers that report usage without cost.
    // OpenRouter reports cost itself; this table matters for plain OpenAI-compatible providers, for our estimate when a
    // stream breaks off before its usage report, and for the credits a call holds while in flight. Unknown models are
    // sent only to providers that report cost (ProviderOptions.Bills); Default is their estimate and hold.
    static readonly Dictionary<string, (decimal Input, decimal CachedInput, decimal Output)> Prices = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai/gpt-4o-mini"] = (0.15m, 0.075m, 0.60m),
        ["gpt-4o-mini"] = (0.15m, 0.075m, 0.60m),
        ["openai/gpt-4o"] = (2.50m, 1.25m, 10m),
        ["gpt-4o"] = (2.50m, 1.25m, 10m),
        ["openai/gpt-4.1"] = (2m, 0.5m, 8m),
        ["openai/gpt-4.1-mini"] = (0.4m, 0.1m, 1.6m),
        ["openai/gpt-5"] = (1.25m, 0.125m, 10m),
        ["openai/gpt-5.1"] = (1.25m, 0.125m, 10m),
        ["openai/gpt-5-mini"] = (0.25m, 0.025m, 2m),
        ["anthropic/claude-sonnet-4.5"] = (3m, 0.3m, 15m),
        ["anthropic/claude-sonnet-4"] = (3m, 0.3m, 15m),
        ["anthropic/claude-opus-4.1"] = (15m, 1.5m, 75m),
        ["anthropic/claude-haiku-4.5"] = (1m, 0.1m, 5m),
        ["google/gemini-2.5-pro"] = (1.25m, 0.31m, 10m),
        ["google/gemini-2.5-flash"] = (0.30m, 0.075m, 2.50m),
        ["google/gemini-2.5-flash-lite"] = (0.10m, 0.025m, 0.40m),
        ["x-ai/grok-4.1-fast"] = (0.20m, 0.05m, 0.50m),
        ["minimax/minimax-m2.5"] = (0.30m, 0.03m, 1.20m),
    };

    public static readonly (decimal Input, decimal CachedInput, decimal Output) Default = (3m, 0.3m, 15m);

    static (decimal Input, decimal CachedInput, decimal Output) Price(string model) => PriceOf(model).Price;

    /// <summary>
    /// The table's id of a model: an Anthropic id in any spelling the Messages API serves ("claude-opus-4-1-20250805",
    /// "claude-opus-4-1", "anthropic/claude-opus-4-1") is the table's "anthropic/claude-opus-4.1" — without a date
    /// suffix, dots between version digits, a trailing ".0" dropped, the vendor prefix; any other id is itself.
    /// </summary>
    public static string PriceId(string model)
    {
        var name = model.StartsWith("anthropic/", StringComparison.OrdinalIgnoreCase) ? model["anthropic/".Length..] : model;
        if (!name.StartsWith("claude-", StringComparison.OrdinalIgnoreCase)) return model;
        name = DateSuffix().Replace(name, "");
        name = DashedVersion().Replace(name, "$1.$2");
        name = ZeroMinor().Replace(name, "");
        return "anthropic/" + name.ToLowerInvariant();
    }

    [GeneratedRegex(@"-\d{8}$")]
    private static partial Regex DateSuffix();

    [GeneratedRegex(@"(\d)-(\d)")]
    private static partial Regex DashedVersion();

    [GeneratedRegex(@"\.0$")]
    private static partial Regex ZeroMinor();

    /// <summary>The models the table prices (GET /api/v1/models lists those a provider serves).</summary>
    public static IEnumerable<string> PricedModels => Prices.Keys;

    /// <summary>A model's USD prices per million tokens, and whether the table knows it (else <see cref="Default"/>).</summary>
    public static ((decimal Input, decimal CachedInput, decimal Output) Price, bool Known) PriceOf(string model) =>
        Prices.TryGetValue(model, out var known) || Prices.TryGetValue(PriceId(model), out known) ? (known, true) : (Default, false);

    /// <summary>
    /// [our choice] Input tokens written to the provider's prompt cache cost 1.25 × the input price (Anthropic's price
    /// of a five-minute cache write); they are part of <paramref name="inputTokens"/>, as cached reads are.
    /// </summary>
    public const decimal CacheWriteFactor = 1.25m;

    public static decimal PriceTokens(string model, int inputTokens, int cachedInputTokens, int outputTokens, int cacheWriteTokens = 0)
    {
        var p = Price(model);
        var uncached = Math.Max(0, inputTokens - cachedInputTokens - cacheWriteTokens);
        return (uncached * p.Input + cachedInputTokens * p.CachedInput + cacheWriteTokens * p.Input * CacheWriteFactor + outputTokens * p.Output) / 1_000_000m;
    }

    /// <summary>
    /// [our choice] A request's input tokens as the reservation counts them: its body's UTF-8 bytes / 4 (o200k averages
    /// about 4 bytes per token on English and code). Counting them with the tokenizer would cost milliseconds per call.
    /// </summary>
    public static long EstimateInputTokens(long bodyBytes) => bodyBytes / 4;

    /// <summary>
    /// The credits a call holds while in flight (README "Credits held by calls in progress"): its input tokens at the
    /// model's input price plus its output tokens at the output price (the table's price; <see cref="Default"/> for an
    /// unknown model), with the margin, rounded up.
    /// </summary>
    public static int ReservedCredits(string model, long inputTokens, long outputTokens)
    {
        var p = Price(model);
        var usd = (inputTokens * p.Input + outputTokens * p.Output) / 1_000_000m;
        return (int)Math.Min(int.MaxValue, Math.Ceiling(usd * 100m * (1 + ProfitMargin)));
    }
}

/// <summary>
/// Token counts and cost of one call, read from an OpenAI/OpenRouter usage object (api.md §2.5.7).
/// <see cref="CacheWriteTokens"/> are the input tokens written to the prompt cache (OpenRouter's
/// prompt_tokens_details.cache_write_tokens; Anthropic's cache_creation_input_tokens), part of <see cref="InputTokens"/>.
/// </summary>
public sealed record CallUsage(int InputTokens, int OutputTokens, int CachedInputTokens, int? ReasoningTokens, decimal CostUsd, bool Estimated,
    int CacheWriteTokens = 0)
{
    public static CallUsage FromJson(JsonObject usage, string model)
    {
        var input = Int(usage["prompt_tokens"]);
        var output = Int(usage["completion_tokens"]);
        var cached = Int(usage["prompt_tokens_details"]?["cached_tokens"]);
        var written = Int(usage["prompt_tokens_details"]?["cache_write_tokens"]);
        var reasoning = Int(usage["completion_tokens_details"]?["reasoning_tokens"]);
        decimal cost;
        if (Dec(usage["cost"]) is { } reported)
            cost = reported + (Dec(usage["cost_details"]?["upstream_inference_cost"]) ?? 0);
        else
            cost = CreditPricing.PriceTokens(model, input, cached, output, written);
        return new CallUsage(input, output, cached, reasoning == 0 ? null : reasoning, Math.Max(0, cost), false, written);
    }

    static int Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) && d > 0 ? (int)Math.Min(d, int.MaxValue) : 0;
    static decimal? Dec(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? (decimal)d : null;
}
