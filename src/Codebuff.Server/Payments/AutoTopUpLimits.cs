using Codebuff.Server.Billing;

namespace Codebuff.Server.Payments;

/// <summary>
/// Section "Codebuff:AutoTopUp": how much automatic charges may take from a card. The amounts and thresholds bound
/// what users and org owners may save (and are applied again when a charge is planned, to values saved before the
/// bounds existed); the daily cap counts every automatic charge tried (payments.auto_topup_charge, any instance).
/// </summary>
public sealed class AutoTopUpLimits
{
    public const int MinimumAmount = 500;

    /// <summary>Largest top-up amount of a user, in credits (upstream's 10000).</summary>
    public int UserMaxAmount { get; set; } = 10_000;

    /// <summary>Largest balance threshold a user may top up at.</summary>
    public int UserMaxThreshold { get; set; } = 10_000;

    /// <summary>Largest top-up amount of an organization (a new org's default is 20000).</summary>
    public int OrgMaxAmount { get; set; } = 100_000;

    /// <summary>Largest balance threshold an organization may top up at (a new org's default is 5000).</summary>
    public int OrgMaxThreshold { get; set; } = 100_000;

    /// <summary>Most automatic charges one user or org may get in any 24 hours.</summary>
    public int MaxChargesPerDay { get; set; } = 5;

    public int MaxAmount(LedgerOwner owner) => owner.OrgId is null ? UserMaxAmount : OrgMaxAmount;
    public int MaxThreshold(LedgerOwner owner) => owner.OrgId is null ? UserMaxThreshold : OrgMaxThreshold;

    /// <summary>Why the amount cannot be saved, or null.</summary>
    public string? AmountProblem(LedgerOwner owner, int amount) => amount < MinimumAmount || amount > MaxAmount(owner)
        ? $"Top-up amount must be between {MinimumAmount} and {MaxAmount(owner)} credits" : null;

    /// <summary>Why the threshold cannot be saved, or null.</summary>
    public string? ThresholdProblem(LedgerOwner owner, int threshold) => threshold < 0 || threshold > MaxThreshold(owner)
        ? $"Top-up threshold must be between 0 and {MaxThreshold(owner)} credits" : null;
}
