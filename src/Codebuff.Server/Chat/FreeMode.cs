namespace Codebuff.Server.Chat;

/// <summary>
/// Free mode (api.md §7.2): <c>cost_mode: "free"</c> is honoured only for the allow-listed agent/model pairs, and such
/// a call is sent to the provider pinned to that model — whatever the body asked for (README "Free mode").
/// </summary>
public static class FreeMode
{
    // Feb 2026 allow-list: the model each agent may use for free.
    static readonly Dictionary<string, string> AllowedModels = new()
    {
        ["base2-free"] = "minimax/minimax-m2.5",
        ["file-picker"] = "google/gemini-2.5-flash-lite",
        ["file-picker-max"] = "x-ai/grok-4.1-fast",
        ["file-lister"] = "x-ai/grok-4.1-fast",
        ["researcher-web"] = "x-ai/grok-4.1-fast",
        ["researcher-docs"] = "x-ai/grok-4.1-fast",
        ["commander-lite"] = "x-ai/grok-4.1-fast",
        ["editor-lite"] = "minimax/minimax-m2.5",
        ["code-reviewer-lite"] = "minimax/minimax-m2.5",
    };

    /// <summary>
    /// [our choice] The only body fields a free call forwards: OpenAI's chat fields that shape sampling, tools and output
    /// format, plus our metadata, OpenRouter's reasoning and usage switches and <c>provider</c> (replaced below). Anything
    /// else — model routing (<c>models</c>, <c>route</c>), paid add-ons (<c>plugins</c>, <c>web_search_options</c>,
    /// audio), a provider's next extension — is dropped: a list of what is known, not of what is feared.
    /// </summary>
    static readonly HashSet<string> ForwardedFields =
    [
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "n", "temperature", "top_p",
        "top_k", "min_p", "top_a", "repetition_penalty", "presence_penalty", "frequency_penalty", "seed", "stop", "logit_bias",
        "logprobs", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user",
        "reasoning_effort", "reasoning", "usage", "provider", "codebuff_metadata",
    ];

    /// <summary>
    /// [our choice] The provider routing every free call gets instead of the client's: the cheapest host of the pinned
    /// model, falling back to other hosts of the same model. A client's <c>provider</c> (the SDK always sends one) is
    /// replaced, never a reason to refuse.
    /// </summary>
    public static JsonObject Routing() => new() { ["sort"] = "price", ["allow_fallbacks"] = true };

    /// <summary>The model a Codebuff agent ("file-picker", "codebuff/file-picker@1.0.0") may use for free, or null.</summary>
    public static string? AllowedModel(string agentId)
    {
        var (publisher, agent) = CreditPricing.ParseAgentId(agentId);
        return publisher is null || publisher == Agents.AgentPublishing.DefaultPublisher ? AllowedModels.GetValueOrDefault(agent) : null;
    }

    public static bool IsAllowed(string agentId, string model) => AllowedModel(agentId) == model;

    /// <summary>
    /// The body as a free call forwards it: only <see cref="ForwardedFields"/>, the client's routing replaced by ours, and <c>max_tokens</c> (also <c>max_completion_tokens</c>) and <c>n</c> capped to the
    /// configured free-mode limits; a missing <c>max_tokens</c> is set to the cap, so the provider's default cannot exceed it.
    /// </summary>
    public static void Pin(JsonObject body, ChatOptions options)
    {
        foreach (var key in body.Select(p => p.Key).Where(k => !ForwardedFields.Contains(k)).ToArray()) body.Remove(key);
        body["provider"] = Routing();
        body["max_tokens"] = Cap(body["max_tokens"], options.FreeModeMaxTokens);
        if (body.ContainsKey("max_completion_tokens")) body["max_completion_tokens"] = Cap(body["max_completion_tokens"], options.FreeModeMaxTokens);
        if (body.ContainsKey("n")) body["n"] = Cap(body["n"], options.FreeModeMaxN);
    }

    /// <summary>A positive integer no larger than <paramref name="cap"/>; anything else (missing, not a number) becomes the cap.</summary>
    static int Cap(JsonNode? value, int cap) =>
        value is JsonValue v && v.TryGetValue<double>(out var d) && d >= 1 && d < cap ? (int)d : cap;
}
