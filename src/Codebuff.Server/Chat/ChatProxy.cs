using System.Text;
using Codebuff.Server.AgentRuns;
using Codebuff.Server.Orgs;
using Codebuff.Server.Tools;
using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat;

/// <summary>
/// Non-streaming completions (one call, or n in parallel answered as one) and the billing step every answer goes
/// through; streams are relayed by <see cref="SseRelay"/>.
/// </summary>
public sealed class ChatProxy(ProviderClient provider, ChatBilling billing, TokenCounter tokens, TraceRecorder traces)
{
    public async Task<IResult> CompleteAsync(JsonObject body, ProxyCall call)
    {
        if (call.FanOut) return await FanOutAsync(body, call);
        var (json, error, answered) = await provider.ReadCompletionAsync(body, call);
        if (json is null) return error!;

        var state = StateFor(json, call, body);
        state.Provider = answered;
        var message = First(json["choices"])?["message"];
        state.AddFinishReason(Str(First(json["choices"])?["finish_reason"]));
        state.AppendContent(Str(message?["content"]));
        state.AppendReasoning(Str(message?["reasoning"]) ?? Str(message?["reasoning_content"]));
        foreach (var part in ToolCalls(message?["tool_calls"]) ?? []) state.AppendToolCall(part);

        var usage = json["usage"] is JsonObject u ? CallUsage.FromJson(u, state.Model) : EstimateUsage(body, state);
        var billed = await BillAsync(state, usage);
        if (json["usage"] is JsonObject reported) RewriteCost(reported, billed);
        return Results.Text(json.ToJsonString(Compact), "application/json", Encoding.UTF8);
    }

    /// <summary>
    /// codebuff_metadata.n &gt; 1 (api.md §2.5.6): n parallel calls answered as one, whose content is the JSON array of the
    /// answers' contents; billed once, for the summed usage, under the first answer's id.
    /// </summary>
    async Task<IResult> FanOutAsync(JsonObject body, ProxyCall call)
    {
        var results = await Task.WhenAll(Enumerable.Range(0, call.N).Select(_ => provider.ReadCompletionAsync(body, call)));
        var answers = results.Where(r => r.Json is not null).Select(r => r.Json!).ToList();
        if (answers.Count == 0) return results[0].Error!;

        var first = answers[0];
        var state = StateFor(first, call, body);
        state.Provider = results.First(r => r.Json is not null).Provider;
        var contents = JsonSerializer.Serialize(answers.Select(a => Str(First(a["choices"])?["message"]?["content"]) ?? ""));
        state.AppendContent(contents);
        foreach (var a in answers) state.AddFinishReason(Str(First(a["choices"])?["finish_reason"]));
        var usages = answers.Select(a =>
        {
            // Each answer is priced by the model that gave it.
            if (a["usage"] is JsonObject u) return CallUsage.FromJson(u, Str(a["model"]) ?? state.Model);
            var single = new CompletionAccumulator(call) { Model = Str(a["model"]) ?? state.Model };
            single.AppendContent(Str(First(a["choices"])?["message"]?["content"]));
            return EstimateUsage(body, single);
        }).ToList();
        var reasoning = usages.Sum(u => u.ReasoningTokens ?? 0);
        var total = new CallUsage(usages.Sum(u => u.InputTokens), usages.Sum(u => u.OutputTokens), usages.Sum(u => u.CachedInputTokens),
            reasoning == 0 ? null : reasoning, usages.Sum(u => u.CostUsd), usages.Any(u => u.Estimated), usages.Sum(u => u.CacheWriteTokens));
        var billed = await BillAsync(state, total);

        first["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = contents }, ["finish_reason"] = "stop",
        });
        var usage = new JsonObject { ["prompt_tokens"] = total.InputTokens, ["completion_tokens"] = total.OutputTokens, ["total_tokens"] = total.InputTokens + total.OutputTokens };
        RewriteCost(usage, billed);
        first["usage"] = usage;
        return Results.Text(first.ToJsonString(Compact), "application/json", Encoding.UTF8);
    }

    /// <summary>The accumulator for a JSON answer, whose id is made the one the client sees (ours when it has none).</summary>
    static CompletionAccumulator StateFor(JsonObject json, ProxyCall call, JsonObject body)
    {
        var state = new CompletionAccumulator(call) { ProviderId = Str(json["id"]) ?? "", Request = body };
        json["id"] = state.ClientId;
        if (Str(json["model"]) is { } model) state.Model = model;
        return state;
    }

    /// <summary>Bills the answer once; returns (and remembers) the credits the client is told.</summary>
    public async Task<int> BillAsync(CompletionAccumulator state, CallUsage usage)
    {
        state.Billed = true;
        var call = state.Call;
        call.Telemetry.Answered(state.ProviderId, state.Model, usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, usage.ReasoningTokens,
            usage.Estimated, state.FinishReasons);
        var billing0 = System.Diagnostics.Stopwatch.GetTimestamp();
        state.BilledCredits = await billing.BillAsync(new BillableCall(state.CallId, state.ProviderId ?? "", call.UserId, call.RunId, call.AgentId,
            call.ClientId, call.Model, state.Model, state.Content.ToString(), state.Reasoning.ToString(), usage, call.Byok, call.FreeMode, call.StartedAt, call.Org, state.Provider));
        call.Charged = true;
        call.BilledCredits = state.BilledCredits;
        call.Telemetry.AddBillingTime(System.Diagnostics.Stopwatch.GetElapsedTime(billing0));
        // After the charge and apart from it: the trace's content (what was sent, the tool calls).
        traces.Record(state);
        return state.BilledCredits;
    }

    public CallUsage EstimateUsage(JsonObject? body, CompletionAccumulator state) => state.EstimateUsage(body, tokens);

    /// <summary>The cost the client is told, so that the SDK's own formula reproduces the billed credits.</summary>
    public static void RewriteCost(JsonObject usage, int billedCredits)
    {
        usage["cost"] = CreditPricing.ReportedCost(billedCredits);
        usage["cost_details"] = new JsonObject { ["upstream_inference_cost"] = 0 };
    }
}
