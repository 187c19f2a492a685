namespace Codebuff.Server.Agents;

/// <summary>Credit sums as the store shows them: upstream reports spend in dollars (100 credits = $1).</summary>
static class Money
{
    public static decimal Dollars(decimal credits) => Plain(Math.Round(credits / 100m, 6));

    /// <summary>Drops the trailing zeros numeric(10,6) sums carry (1071421.000000 → 1071421).</summary>
    public static decimal Plain(decimal value) => value / 1.000000000000000000000000000000000m;
}
