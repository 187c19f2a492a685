namespace Codebuff.Ledger;

/// <summary>Lower is consumed first (api.md §7.3, Dec 2025 table; admin uses the constant table's 60).</summary>
static class GrantPriorities
{
    public static int For(GrantType type) => type switch
    {
        GrantType.Free => 20,
        GrantType.Referral => 40,
        GrantType.Admin => 60,
        GrantType.Organization => 70,
        GrantType.Purchase => 80,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
