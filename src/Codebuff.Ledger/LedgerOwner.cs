namespace Codebuff.Ledger;

/// <summary>Whose credits: a user's personal grants (org_id NULL) or an organization's grants.</summary>
public readonly record struct LedgerOwner(string? UserId, string? OrgId)
{
    public static LedgerOwner User(string userId) => new(userId, null);
    public static LedgerOwner Org(string orgId) => new(null, orgId);
    public string LockKey => OrgId is null ? $"user:{UserId}" : $"org:{OrgId}";
}
