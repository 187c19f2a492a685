using System.Diagnostics.CodeAnalysis;

namespace Codebuff.Server.Orgs;

/// <summary>
/// The org routes' request and answer shapes, named for the OpenAPI document (Hosting/ApiDocs). Upstream answers
/// database rows with their snake_case column names, hence the lower-case members.
/// </summary>
[SuppressMessage("Style", "IDE1006", Justification = "wire names")]
public static class OrgWire
{
    public sealed record CreateOrg(string Name, string? Description);
    public sealed record UpdateOrg(string? Name, string? Description);
    public sealed record OrgSummary(string Id, string Name, string Slug, string Role, int MemberCount, int RepositoryCount);
    public sealed record OrgList(IEnumerable<OrgSummary> Organizations);
    public sealed record OrgRow(string id, string name, string slug, string? description, string owner_id, string? stripe_customer_id,
        string? stripe_subscription_id, DateTime? current_period_start, DateTime? current_period_end, bool auto_topup_enabled,
        int auto_topup_threshold, int auto_topup_amount, int? credit_limit, bool billing_alerts, bool usage_alerts, bool weekly_reports,
        DateTime created_at, DateTime updated_at);
    /// <summary>owner_id and created_at only when read by slug (upstream's two routes answer differently).</summary>
    public sealed record OrgDetail(string Id, string Name, string Slug, string? Description, string UserRole, int MemberCount, int RepositoryCount,
        int CreditBalance, bool HasStripeSubscription, string? StripeSubscriptionId,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? owner_id,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? created_at);
    public sealed record Settings(string Id, string Name, string Slug, string? Description, string UserRole, bool AutoTopupEnabled,
        int AutoTopupThreshold, int AutoTopupAmount, int? CreditLimit, bool BillingAlerts, bool UsageAlerts, bool WeeklyReports, string? AutoTopupBlockedReason);
    public sealed record SettingsUpdate(string? Name, string? Description, bool? AutoTopupEnabled, int? AutoTopupThreshold, int? AutoTopupAmount,
        int? CreditLimit, bool? BillingAlerts, bool? UsageAlerts, bool? WeeklyReports);

    public sealed record MemberUser(string Id, string? Name, string Email);
    public sealed record Member(MemberUser User, string Role, DateTime joined_at);
    public sealed record MemberList(IEnumerable<Member> Members);
    public sealed record AddMember(string Email, string Role);
    public sealed record ChangeRole(string Role);

    public sealed record Invite(string Email, string Role);
    public sealed record BulkInvite(IEnumerable<Invite> Invitations);
    public sealed record Skipped(string Email, string Reason);
    public sealed record BulkResult(bool Success, int Added, IEnumerable<Skipped> Skipped);
    public sealed record Invitation(string id, string email, string role, string? invited_by_name, DateTime created_at, DateTime expires_at);
    public sealed record InvitationList(IEnumerable<Invitation> Invitations);
    public sealed record InvitationInfo(string organization_name, string organization_slug, string email, string role, string? inviter_name, DateTime expires_at);
    public sealed record InvitationView(InvitationInfo Invitation);
    public sealed record JoinedOrg(string Id, string Name, string Slug, string Role);
    public sealed record Accepted(bool Success, JoinedOrg Organization);

    public sealed record AddRepo(string repository_url, string? repository_name);
    public sealed record SetActive(bool IsActive);
    public sealed record Approver(string? Name, string? Email);
    public sealed record Repo(string id, string org_id, string repository_url, string repository_name, string? repo_owner, string approved_by,
        DateTime approved_at, bool is_active, Approver approver);
    public sealed record RepoList(IEnumerable<Repo> Repositories);

    public sealed record TopUser(string user_id, string? user_name, string? user_email, long credits_used);
    public sealed record RecentUsage(DateTime date, int credits_used, string? repository_url, string? user_name);
    public sealed record Usage(int CurrentBalance, long UsageThisCycle, DateTime CycleStartDate, DateTime CycleEndDate,
        IEnumerable<TopUser> TopUsers, IEnumerable<RecentUsage> RecentUsage);

    /// <summary>Any JSON value: a feature's configuration.</summary>
    public sealed record FeatureConfig;
    public sealed record Feature(string org_id, string feature, JsonNode? config, bool is_active, DateTime created_at, DateTime updated_at);
    public sealed record NoFeature(object? Config);

    public sealed record Alert(string Id, string Type, string Severity, string Title, string Message, DateTime Timestamp);
    public sealed record AlertList(IEnumerable<Alert> Alerts);
}
