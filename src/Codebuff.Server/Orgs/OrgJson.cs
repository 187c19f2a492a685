namespace Codebuff.Server.Orgs;

/// <summary>Rows as the dashboard receives them: upstream returns database rows with their snake_case column names.</summary>
public static class OrgJson
{
    public static string Role(OrgRole role) => role.ToString().ToLowerInvariant();

    public static string? Time(DateTime? value) => value is { } v ? IsoUtcDateTimeConverter.Format(v) : null;

    public static JsonObject Org(Org o) => new()
    {
        ["id"] = o.Id, ["name"] = o.Name, ["slug"] = o.Slug, ["description"] = o.Description, ["owner_id"] = o.OwnerId,
        ["stripe_customer_id"] = o.StripeCustomerId, ["stripe_subscription_id"] = o.StripeSubscriptionId,
        ["current_period_start"] = Time(o.CurrentPeriodStart), ["current_period_end"] = Time(o.CurrentPeriodEnd),
        ["auto_topup_enabled"] = o.AutoTopupEnabled, ["auto_topup_threshold"] = o.AutoTopupThreshold, ["auto_topup_amount"] = o.AutoTopupAmount,
        ["credit_limit"] = o.CreditLimit, ["billing_alerts"] = o.BillingAlerts, ["usage_alerts"] = o.UsageAlerts,
        ["weekly_reports"] = o.WeeklyReports, ["created_at"] = Time(o.CreatedAt), ["updated_at"] = Time(o.UpdatedAt),
    };

    public static JsonObject Repo(OrgRepo r, string? approverName, string? approverEmail) => new()
    {
        ["id"] = r.Id, ["org_id"] = r.OrgId, ["repository_url"] = r.RepoUrl, ["repository_name"] = r.RepoName, ["repo_owner"] = r.RepoOwner,
        ["approved_by"] = r.ApprovedBy, ["approved_at"] = Time(r.ApprovedAt), ["is_active"] = r.IsActive,
        ["approver"] = new JsonObject { ["name"] = approverName, ["email"] = approverEmail },
    };

    public static JsonObject Feature(OrgFeature f) => new()
    {
        ["org_id"] = f.OrgId, ["feature"] = f.Feature, ["config"] = f.Config is null ? null : JsonNode.Parse(f.Config),
        ["is_active"] = f.IsActive, ["created_at"] = Time(f.CreatedAt), ["updated_at"] = Time(f.UpdatedAt),
    };
}
