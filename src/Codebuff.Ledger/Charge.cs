using System.Security.Cryptography;
using System.Text;

namespace Codebuff.Ledger;

/// <summary>
/// One billable event (an LLM call or a search) with everything its <c>message</c> row records. <see cref="CallId"/>
/// is ours and unique per call: retries and journal replays carry it, so applying a charge twice changes nothing.
/// <see cref="ProviderId"/> is the provider's id for the answer; it becomes the message id when no other call has it
/// (api.md §2.5.7), otherwise the row gets <see cref="OwnId"/> and the provider's id stays in billing.message_call.
/// </summary>
public sealed record Charge(
    Guid CallId, string UserId, string? OrgId, string ProviderId, DateTime FinishedAt, string? ClientId, string? ClientRequestId,
    string Model, string? AgentId, string? ReasoningText, string Response, int InputTokens, int CacheReadInputTokens,
    int? ReasoningTokens, int OutputTokens, decimal Cost, int Credits, bool Byok, int? LatencyMs, bool Deduct)
{
    /// <summary>The approved repository that made an org pay (message.repo_url); null for personal charges.</summary>
    public string? RepoUrl { get; init; }

    /// <summary>Input tokens written to the provider's prompt cache (message.cache_creation_input_tokens); null when none were reported.</summary>
    public int? CacheCreationInputTokens { get; init; }

    /// <summary>The configured LLM provider that answered (service.message_provider); null for searches and ledger-API charges.</summary>
    public string? Provider { get; init; }

    [JsonIgnore] public LedgerOwner Owner => LedgerOwner.Of(UserId, OrgId);

    /// <summary>The message id used when the provider's id is missing or taken.</summary>
    [JsonIgnore] public string OwnId => $"gen-{CallId:N}";

    /// <summary>
    /// A charge for an existing message row shape; the call id is derived from the message id, so the same message
    /// charged twice is one call (the ledger API's contract: a repeated message id changes nothing).
    /// </summary>
    public static Charge ForMessage(Message m, bool deduct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m.Credits);
        var callId = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(m.Id)).AsSpan(0, 16));
        return new Charge(callId, m.UserId ?? throw new ArgumentException("a charge needs a user", nameof(m)), m.OrgId, m.Id, m.FinishedAt,
            m.ClientId, m.ClientRequestId, m.Model, m.AgentId, m.ReasoningText, m.Response, m.InputTokens, m.CacheReadInputTokens,
            m.ReasoningTokens, m.OutputTokens, m.Cost, m.Credits, m.Byok, m.LatencyMs, deduct)
        { RepoUrl = m.RepoUrl, CacheCreationInputTokens = m.CacheCreationInputTokens }.Cleaned();
    }

    /// <summary>
    /// PostgreSQL text cannot hold U+0000 and jsonb refuses lone surrogates; a provider that sends either must not make
    /// a charge impossible to store, so both become U+FFFD.
    /// </summary>
    public Charge Cleaned() => this with
    {
        ProviderId = Clean(ProviderId)!,
        ClientId = Clean(ClientId),
        ClientRequestId = Clean(ClientRequestId),
        Model = Clean(Model)!,
        AgentId = Clean(AgentId),
        RepoUrl = Clean(RepoUrl),
        Provider = Clean(Provider),
        ReasoningText = Clean(ReasoningText),
        Response = Clean(Response)!,
    };

    public static string? Clean(string? s)
    {
        if (s is null) return null;
        var bad = false;
        for (var i = 0; i < s.Length && !bad; i++)
        {
            var c = s[i];
            if (c == '\0') bad = true;
            else if (char.IsHighSurrogate(c)) { if (i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++; else bad = true; }
            else if (char.IsLowSurrogate(c)) bad = true;
        }
        if (!bad) return s;
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\0') sb.Append('\uFFFD');
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[i + 1]); i++; }
            else if (char.IsSurrogate(c)) sb.Append('\uFFFD');
            else sb.Append(c);
        }
        return sb.ToString();
    }
}

/// <summary>What became of one charge: the message row it wrote, or that its call had been applied before.</summary>
sealed record ChargeResult(Guid CallId, string? MessageId, bool Applied);
