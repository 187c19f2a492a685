using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

[Table("org")]
public sealed class Org
{
    [Column("id")] public required string Id { get; set; }
    [Column("name")] public required string Name { get; set; }
    [Column("slug")] public required string Slug { get; set; }
    [Column("description")] public string? Description { get; set; }
    [Column("owner_id")] public required string OwnerId { get; set; }
    [Column("stripe_customer_id")] public string? StripeCustomerId { get; set; }
    [Column("stripe_subscription_id")] public string? StripeSubscriptionId { get; set; }
    [Column("current_period_start")] public DateTime? CurrentPeriodStart { get; set; }
    [Column("current_period_end")] public DateTime? CurrentPeriodEnd { get; set; }
    [Column("auto_topup_enabled")] public bool AutoTopupEnabled { get; set; }
    [Column("auto_topup_threshold")] public int AutoTopupThreshold { get; set; }
    [Column("auto_topup_amount")] public int AutoTopupAmount { get; set; }
    [Column("credit_limit")] public int? CreditLimit { get; set; }
    [Column("billing_alerts")] public bool BillingAlerts { get; set; } = true;
    [Column("usage_alerts")] public bool UsageAlerts { get; set; } = true;
    [Column("weekly_reports")] public bool WeeklyReports { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("updated_at")] public DateTime UpdatedAt { get; set; }
}

[Table("org_member")]
public sealed class OrgMember
{
    [Column("org_id")] public required string OrgId { get; set; }
    [Column("user_id")] public required string UserId { get; set; }
    [Column("role")] public OrgRole Role { get; set; }
    [Column("joined_at")] public DateTime JoinedAt { get; set; }
}

[Table("org_repo")]
public sealed class OrgRepo
{
    [Column("id")] public required string Id { get; set; }
    [Column("org_id")] public required string OrgId { get; set; }
    [Column("repo_url")] public required string RepoUrl { get; set; }
    [Column("repo_name")] public required string RepoName { get; set; }
    [Column("repo_owner")] public string? RepoOwner { get; set; }
    [Column("approved_by")] public required string ApprovedBy { get; set; }
    [Column("approved_at")] public DateTime ApprovedAt { get; set; }
    [Column("is_active")] public bool IsActive { get; set; } = true;
}

[Table("org_invite")]
public sealed class OrgInvite
{
    [Column("id")] public required string Id { get; set; }
    [Column("org_id")] public required string OrgId { get; set; }
    [Column("email")] public required string Email { get; set; }
    [Column("role")] public OrgRole Role { get; set; }
    [Column("token")] public required string Token { get; set; }
    [Column("invited_by")] public required string InvitedBy { get; set; }
    [Column("expires_at")] public DateTime ExpiresAt { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("accepted_at")] public DateTime? AcceptedAt { get; set; }
    [Column("accepted_by")] public string? AcceptedBy { get; set; }
}

[Table("org_feature")]
public sealed class OrgFeature
{
    [Column("org_id")] public required string OrgId { get; set; }
    [Column("feature")] public required string Feature { get; set; }
    [Column("config")] public string? Config { get; set; }
    [Column("is_active")] public bool IsActive { get; set; } = true;
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("updated_at")] public DateTime UpdatedAt { get; set; }
}

sealed class OrgConfiguration : IEntityTypeConfiguration<Org>
{
    public void Configure(EntityTypeBuilder<Org> e)
    {
        e.HasKey(x => x.Id).HasName("org_pkey");
        e.Property(x => x.CurrentPeriodStart).HasColumnType("timestamp with time zone");
        e.Property(x => x.CurrentPeriodEnd).HasColumnType("timestamp with time zone");
        e.Property(x => x.AutoTopupEnabled).HasDefaultValue(false).ValueGeneratedNever();
        e.Property(x => x.BillingAlerts).HasDefaultValue(true).ValueGeneratedNever();
        e.Property(x => x.UsageAlerts).HasDefaultValue(true).ValueGeneratedNever();
        e.Property(x => x.WeeklyReports).HasDefaultValue(false).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.UpdatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasIndex(x => x.Slug).IsUnique().HasDatabaseName("org_slug_unique");
        e.HasIndex(x => x.StripeCustomerId).IsUnique().HasDatabaseName("org_stripe_customer_id_unique");
        e.HasOne<User>().WithMany().HasForeignKey(x => x.OwnerId).HasConstraintName("org_owner_id_user_id_fk").OnDelete(DeleteBehavior.Cascade);
    }
}

sealed class OrgMemberConfiguration : IEntityTypeConfiguration<OrgMember>
{
    public void Configure(EntityTypeBuilder<OrgMember> e)
    {
        e.HasKey(x => new { x.OrgId, x.UserId }).HasName("org_member_org_id_user_id_pk");
        e.Property(x => x.JoinedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("org_member_org_id_org_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("org_member_user_id_user_id_fk").OnDelete(DeleteBehavior.Cascade);
    }
}

sealed class OrgRepoConfiguration : IEntityTypeConfiguration<OrgRepo>
{
    public void Configure(EntityTypeBuilder<OrgRepo> e)
    {
        e.HasKey(x => x.Id).HasName("org_repo_pkey");
        e.Property(x => x.ApprovedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.IsActive).HasDefaultValue(true).ValueGeneratedNever();
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("org_repo_org_id_org_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.ApprovedBy).HasConstraintName("org_repo_approved_by_user_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasIndex(x => new { x.OrgId, x.IsActive }).HasDatabaseName("idx_org_repo_active");
        // Upstream's name says "unique" but the index is not; uniqueness is the application's job.
        e.HasIndex(x => new { x.OrgId, x.RepoUrl }).HasDatabaseName("idx_org_repo_unique");
    }
}

sealed class OrgInviteConfiguration : IEntityTypeConfiguration<OrgInvite>
{
    public void Configure(EntityTypeBuilder<OrgInvite> e)
    {
        e.HasKey(x => x.Id).HasName("org_invite_pkey");
        e.Property(x => x.ExpiresAt).HasColumnType("timestamp with time zone");
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.AcceptedAt).HasColumnType("timestamp with time zone");
        e.HasAlternateKey(x => x.Token).HasName("org_invite_token_unique");
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("org_invite_org_id_org_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.InvitedBy).HasConstraintName("org_invite_invited_by_user_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.AcceptedBy).HasConstraintName("org_invite_accepted_by_user_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasIndex(x => x.Token).HasDatabaseName("idx_org_invite_token");
        e.HasIndex(x => new { x.OrgId, x.Email }).HasDatabaseName("idx_org_invite_email");
        e.HasIndex(x => x.ExpiresAt).HasDatabaseName("idx_org_invite_expires");
    }
}

sealed class OrgFeatureConfiguration : IEntityTypeConfiguration<OrgFeature>
{
    public void Configure(EntityTypeBuilder<OrgFeature> e)
    {
        e.HasKey(x => new { x.OrgId, x.Feature }).HasName("org_feature_org_id_feature_pk");
        e.Property(x => x.Config).HasColumnType("jsonb");
        e.Property(x => x.IsActive).HasDefaultValue(true).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.UpdatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("org_feature_org_id_org_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasIndex(x => new { x.OrgId, x.IsActive }).HasDatabaseName("idx_org_feature_active");
    }
}
