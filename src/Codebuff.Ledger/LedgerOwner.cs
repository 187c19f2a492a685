namespace Codebuff.Ledger;

/// <summary>Whose credits: a user's personal grants (org_id NULL) or an organization's grants.</summary>
public readonly record struct LedgerOwner(string? UserId, string? OrgId)
{
    public static LedgerOwner User(string userId) => new(userId, null);
    public static LedgerOwner Org(string orgId) => new(null, orgId);

    /// <summary>Who pays for a grant or a charge: its org when it has one, else its user.</summary>
    public static LedgerOwner Of(string userId, string? orgId) => orgId is null ? User(userId) : Org(orgId);
    public string LockKey => OrgId is null ? $"user:{UserId}" : $"org:{OrgId}";
}
