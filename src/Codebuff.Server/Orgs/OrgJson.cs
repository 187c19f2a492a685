using static Codebuff.Server.Orgs.OrgWire;

namespace Codebuff.Server.Orgs;

/// <summary>Rows as the dashboard receives them: upstream returns database rows with their snake_case column names.</summary>
public static class OrgJson
{
    public static string Role(OrgRole role) => role.ToString().ToLowerInvariant();

    public static string? Time(DateTime? value) => value is { } v ? IsoUtcDateTimeConverter.Format(v) : null;

    public static OrgRow Org(Org o) => new(o.Id, o.Name, o.Slug, o.Description, o.OwnerId, o.StripeCustomerId, o.StripeSubscriptionId,
        o.CurrentPeriodStart, o.CurrentPeriodEnd, o.AutoTopupEnabled, o.AutoTopupThreshold, o.AutoTopupAmount, o.CreditLimit,
        o.BillingAlerts, o.UsageAlerts, o.WeeklyReports, o.CreatedAt, o.UpdatedAt);

    public static OrgWire.Repo Repo(OrgRepo r, string? approverName, string? approverEmail) => new(r.Id, r.OrgId, r.RepoUrl, r.RepoName, r.RepoOwner,
        r.ApprovedBy, r.ApprovedAt, r.IsActive, new Approver(approverName, approverEmail));

    public static OrgWire.Feature Feature(OrgFeature f) =>
        new(f.OrgId, f.Feature, f.Config is null ? null : JsonNode.Parse(f.Config), f.IsActive, f.CreatedAt, f.UpdatedAt);
}
