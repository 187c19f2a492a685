namespace Codebuff.Server.Orgs;

/// <summary>The alert kinds: each is also the <c>type</c> GET /api/orgs/{orgId}/alerts answers.</summary>
public static class OrgAlertKind
{
    // Billing alerts (org.billing_alerts).
    public const string LowBalance = "low_balance", AutoTopupFailed = "auto_topup_failed", PaymentFailed = "payment_failed";
    // Usage alerts (org.usage_alerts): 80 % and 100 % of credit_limit in the cycle.
    public const string CreditLimitApproaching = "credit_limit_approaching", CreditLimitReached = "credit_limit_reached";

    public static readonly string[] Billing = [LowBalance, AutoTopupFailed, PaymentFailed];
    public static readonly string[] Usage = [CreditLimitApproaching, CreditLimitReached];
}
