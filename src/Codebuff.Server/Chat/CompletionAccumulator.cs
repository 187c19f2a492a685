using System.Text;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tools;

namespace Codebuff.Server.Chat;

/// <summary>
/// Who is calling and how the call is billed; fixed before the provider is contacted. <see cref="CallId"/> is ours,
/// unique per call: the idempotency key of its charge and the key of the credits it holds while in flight.
/// <see cref="N"/> is how many answers are asked for (codebuff_metadata.n); <see cref="FanOut"/> whether the client
/// asked for several, which fixes the answer's shape even when free mode lowered N. <see cref="Routes"/> are the providers
/// tried in order, with their keys; a BYOK call's routes all carry the caller's own key.
/// </summary>
public sealed record ProxyCall(Guid CallId, string UserId, string RunId, string AgentId, string Model, string? ClientId, bool Byok, bool FreeMode,
    DateTime StartedAt, int N = 1, OrgBilling.Payer? Org = null, bool FanOut = false)
{
    public IReadOnlyList<ProviderRoute> Routes { get; init; } = [];

    /// <summary>Set once the call's charge has been handed to the queue: its transaction releases the call's hold.</summary>
    public bool Charged { get; set; }

    /// <summary>Set when a check after the gate (free mode, rate limit, credits) refused the call: nothing was sent.</summary>
    public bool Refused { get; set; }

    /// <summary>The credits the charge deducted (what the client was told); a plain request's run is finished with them.</summary>
    public int BilledCredits { get; set; }

    /// <summary>The call's span and timings; set by the endpoint with the request's start.</summary>
    public Telemetry.ChatCallTelemetry Telemetry { get; init; } = new(System.Diagnostics.Stopwatch.GetTimestamp());
}

/// <summary>One tool call's part of an answer (a streamed delta names its index; the id and name come once).</summary>
public sealed record ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);

/// <summary>
/// What has been seen of one provider answer so far — its id, model, generated text, reasoning and tool-call
/// arguments (each capped) — and the local usage estimate for an answer that never reported usage.
/// </summary>
public sealed class CompletionAccumulator(ProxyCall call)
{
    public ProxyCall Call { get; } = call;

    /// <summary>The call's id (<see cref="ProxyCall.CallId"/>), also the source of any id we must invent.</summary>
    public Guid CallId => Call.CallId;

    /// <summary>The provider's id for the answer; null until seen, empty when the provider sent none.</summary>
    public string? ProviderId { get; set; }

    /// <summary>The name of the configured provider that answered (service.message_provider).</summary>
    public string? Provider { get; set; }

    /// <summary>The id the client sees: the provider's, or ours when it sent none.</summary>
    public string ClientId => string.IsNullOrEmpty(ProviderId) ? $"gen-{CallId:N}" : ProviderId;

    /// <summary>The client's request body, for the trace (AgentRuns/TraceSteps.cs).</summary>
    public JsonObject? Request { get; init; }

    public string Model { get; set; } = call.Model;
    public StringBuilder Content { get; } = new();
    public StringBuilder Reasoning { get; } = new();
    readonly StringBuilder _toolArgs = new();
    readonly SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)> _toolCalls = [];
    public bool SawDone { get; set; }
    public bool SawError { get; set; }
    public bool Billed { get; set; }
    /// <summary>The choices' finish reasons as the provider named them (for the span's gen_ai.response.finish_reasons).</summary>
    public SortedSet<string> FinishReasons { get; } = new(StringComparer.Ordinal);
    public void AddFinishReason(string? reason)
    {
        if (!string.IsNullOrEmpty(reason) && FinishReasons.Count < 8) FinishReasons.Add(reason);
    }
    public int BilledCredits { get; set; }
    public bool Produced => Content.Length > 0 || Reasoning.Length > 0 || _toolArgs.Length > 0;

    public void AppendContent(string? s) => Append(Content, s);
    public void AppendReasoning(string? s) => Append(Reasoning, s);

    /// <summary>The answer's tool calls so far, in index order: id, function name and arguments (capped as the text is).</summary>
    public IEnumerable<(string? Id, string? Name, string Arguments)> ToolCalls =>
        _toolCalls.Values.Select(c => (c.Id, c.Name, c.Arguments.ToString()));

    /// <summary>A tool call's part: its arguments (else its name) count as output; id, name and arguments are kept for the trace.</summary>
    public void AppendToolCall(ToolCallDelta delta)
    {
        Append(_toolArgs, delta.Arguments ?? delta.Name);
        if (!_toolCalls.TryGetValue(delta.Index, out var known))
        {
            if (_toolCalls.Count >= MaxToolCalls) return;
            known = (null, null, new StringBuilder());
        }
        Append(known.Arguments, delta.Arguments);
        _toolCalls[delta.Index] = (known.Id ?? delta.Id, known.Name ?? delta.Name, known.Arguments);
    }

    /// <summary>A bound on the tool calls kept for one answer's trace.</summary>
    const int MaxToolCalls = 256;

    /// <summary>A streamed chunk's delta: its text, its reasoning, and its tool calls' parts.</summary>
    public void AppendDelta(string? content, string? reasoning, IEnumerable<ToolCallDelta>? toolCalls)
    {
        AppendContent(content);
        AppendReasoning(reasoning);
        foreach (var delta in toolCalls ?? []) AppendToolCall(delta);
    }

    /// <summary>Local token counts priced from the table, for a provider that produced output but no usage report.</summary>
    public CallUsage EstimateUsage(JsonObject? requestBody, TokenCounter tokens)
    {
        var input = tokens.Count(requestBody?["messages"]?.ToJsonString()) + tokens.Count(requestBody?["tools"]?.ToJsonString());
        var output = tokens.Count(Content.ToString()) + tokens.Count(Reasoning.ToString()) + tokens.Count(_toolArgs.ToString());
        return new CallUsage(input, output, 0, null, CreditPricing.PriceTokens(Model, input, 0, output), Estimated: true);
    }

    // Keep one character past the cap so that ChatBilling.Cap can tell a cut text from one of exactly 1 MiB.
    static void Append(StringBuilder sb, string? s)
    {
        if (string.IsNullOrEmpty(s) || sb.Length > ChatBilling.TextCap) return;
        sb.Append(s.AsSpan(0, Math.Min(s.Length, ChatBilling.TextCap + 1 - sb.Length)));
    }
}

/// <summary>Reading the loosely typed JSON providers send.</summary>
static class ProviderJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonNode? Parse(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { return null; }
    }

    public static JsonNode? First(JsonNode? node) => node is JsonArray { Count: > 0 } array ? array[0] : null;
    public static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A tool_calls array (a message's, or a streamed delta's) as parts; a call without an index is numbered by position.</summary>
    public static IEnumerable<ToolCallDelta>? ToolCalls(JsonNode? toolCalls) =>
        (toolCalls as JsonArray)?.Select((c, i) => new ToolCallDelta(
            c?["index"] is JsonValue v && v.TryGetValue<int>(out var index) ? index : i,
            Str(c?["id"]), Str(c?["function"]?["name"]), Str(c?["function"]?["arguments"])));
}
