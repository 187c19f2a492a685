using System.Text.Json.Serialization;

namespace Codebuff.Contracts;

/// <summary>
/// POST /api/v1/usage → the CLI's usage banner (api.md §4.5). Personal answers carry every grant type in the
/// breakdown, the next reset and the auto top-up flag; organization answers an empty breakdown and no reset date.
/// </summary>
public sealed record UsageResponse(
    int Usage,
    int RemainingBalance,
    IReadOnlyDictionary<string, int> BalanceBreakdown,
    [property: JsonPropertyName("next_quota_reset")] DateTime? NextQuotaReset,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? AutoTopupEnabled,
    // [our choice] not upstream's: whether this server sells credits (payments configured); absent (upstream) means it does.
    [property: JsonPropertyName("can_buy_credits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? CanBuyCredits = null)
{
    [JsonPropertyOrder(-1)]
    public string Type => "usage-response";
}
