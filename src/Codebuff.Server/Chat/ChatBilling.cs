using System.Text.Json;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Orgs;

namespace Codebuff.Server.Chat;

/// <summary>Everything known about one finished LLM call that the message row records (api.md §2.5.7).</summary>
public sealed record BillableCall(
    string MessageId, string UserId, string RunId, string AgentId, string? ClientId, string Model,
    string Content, string Reasoning, CallUsage Usage, bool Byok, bool FreeMode, DateTime StartedAt, OrgBilling.Payer? Org = null);

/// <summary>
/// Bills a call exactly once: consume + message row in one CreditLedger transaction, idempotent on the message id.
/// Runs in its own scope with no request cancellation, so a client that hangs up is still billed.
/// </summary>
public sealed class ChatBilling(IServiceScopeFactory scopes, TimeProvider clock, ILogger<ChatBilling> log)
{
    public const int TextCap = 1024 * 1024;
    const string Truncated = "\n---[TRUNCATED]---";

    /// <returns>The credits actually deducted (0 for BYOK and free calls), which is what the client is told.</returns>
    public async Task<int> BillAsync(BillableCall call)
    {
        var credits = CreditPricing.ApplyFreeRules(CreditPricing.Credits(call.Usage.CostUsd), call.AgentId, call.FreeMode);
        var now = clock.GetUtcNow().UtcDateTime;
        var message = new Message
        {
            Id = call.MessageId, FinishedAt = now, ClientId = call.ClientId, ClientRequestId = call.RunId, Model = call.Model,
            AgentId = call.AgentId, Request = null,
            ReasoningText = call.Reasoning.Length == 0 ? null : Cap(call.Reasoning),
            Response = JsonSerializer.Serialize(Cap(call.Content)),
            InputTokens = call.Usage.InputTokens, OutputTokens = call.Usage.OutputTokens,
            CacheReadInputTokens = call.Usage.CachedInputTokens, CacheCreationInputTokens = null, ReasoningTokens = call.Usage.ReasoningTokens,
            Cost = call.Usage.CostUsd, Credits = credits, Byok = call.Byok,
            LatencyMs = (int)Math.Clamp((now - call.StartedAt).TotalMilliseconds, 0, int.MaxValue), UserId = call.UserId,
            OrgId = call.Org?.OrgId, RepoUrl = call.Org?.RepoUrl,
        };
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
            var owner = call.Org is { } org ? LedgerOwner.Org(org.OrgId) : LedgerOwner.User(call.UserId);
            await ledger.ChargeAsync(owner, message, deduct: !call.Byok, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The answer has been produced; the client still gets it (api.md §2.5.7). Only ids go to the log.
            log.LogError(e, "billing failed for message {MessageId} of user {UserId}", call.MessageId, call.UserId);
        }
        return call.Byok ? 0 : credits;
    }

    /// <summary>Caps a text buffer at 1 MiB of characters and marks the cut.</summary>
    public static string Cap(string text) => text.Length <= TextCap ? text : text[..TextCap] + Truncated;
}
