using Codebuff.Server.Billing;
using Codebuff.Server.Orgs;

namespace Codebuff.Server.Chat;

/// <summary>
/// Everything known about one finished LLM call that the message row records (api.md §2.5.7). <see cref="Model"/> is
/// the model that answered as the provider reported it (else the one asked for), and what the call is priced by.
/// </summary>
public sealed record BillableCall(
    Guid CallId, string ProviderId, string UserId, string RunId, string AgentId, string? ClientId, string RequestedModel, string Model,
    string Content, string Reasoning, CallUsage Usage, bool Byok, bool FreeMode, DateTime StartedAt, OrgBilling.Payer? Org = null, string? Provider = null);

/// <summary>
/// Turns a finished call into a charge and hands it to the <see cref="ChargeQueue"/>, which journals it and writes
/// it exactly once (idempotent on the call id) — however long the database takes to accept it.
/// </summary>
public sealed class ChatBilling(ChargeQueue queue, TimeProvider clock)
{
    public const int TextCap = 1024 * 1024;
    const string Truncated = "\n---[TRUNCATED]---";

    /// <returns>The credits deducted (0 for BYOK and free calls), which is what the client is told.</returns>
    public async Task<int> BillAsync(BillableCall call)
    {
        var credits = CreditPricing.ApplyFreeRules(CreditPricing.Credits(call.Usage.CostUsd), call.AgentId, call.FreeMode, call.RequestedModel, call.Model);
        var now = clock.GetUtcNow().UtcDateTime;
        var reasoning = Charge.Clean(Cap(call.Reasoning))!;
        // The charge's own span: what was charged to whom (owner kind, never the owner) and whether it committed in time.
        using var span = Telemetry.Instruments.Source.StartActivity("charge");
        var committed = await queue.SubmitAsync(new Charge(
            call.CallId, call.UserId, OrgId: call.Org?.OrgId, call.ProviderId, FinishedAt: now, call.ClientId, ClientRequestId: call.RunId, call.Model,
            call.AgentId, ReasoningText: reasoning.Length == 0 ? null : reasoning, Response: JsonSerializer.Serialize(Charge.Clean(Cap(call.Content))),
            call.Usage.InputTokens, call.Usage.CachedInputTokens, call.Usage.ReasoningTokens, call.Usage.OutputTokens, call.Usage.CostUsd,
            credits, call.Byok, LatencyMs: (int)Math.Clamp((now - call.StartedAt).TotalMilliseconds, 0, int.MaxValue), Deduct: !call.Byok)
        {
            RepoUrl = call.Org?.RepoUrl, Provider = call.Provider,
            CacheCreationInputTokens = call.Usage.CacheWriteTokens > 0 ? call.Usage.CacheWriteTokens : null,
        }.Cleaned());
        var charged = call.Byok ? 0 : credits;
        var ownerKind = call.Org is null ? "user" : "org";
        Telemetry.Instruments.CreditsBilled.Add(charged, new KeyValuePair<string, object?>("codebuff.owner.kind", ownerKind));
        span?.SetTag("codebuff.charge.credits", charged).SetTag("codebuff.charge.owner_kind", ownerKind)
            .SetTag("codebuff.charge.state", committed ? "committed" : "queued").SetTag("codebuff.charge.byok", call.Byok)
            .SetTag("codebuff.charge.free_mode", call.FreeMode);
        return charged;
    }

    /// <summary>Caps a text buffer at 1 MiB of characters and marks the cut.</summary>
    public static string Cap(string text) => text.Length <= TextCap ? text : text[..TextCap] + Truncated;
}
