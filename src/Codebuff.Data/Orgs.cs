using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

[Table("org")]
public sealed class Org
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public required string Slug { get; set; }
    public string? Description { get; set; }
    public required string OwnerId { get; set; }
    public string? StripeCustomerId { get; set; }
    public string? StripeSubscriptionId { get; set; }
    public DateTime? CurrentPeriodStart { get; set; }
    public DateTime? CurrentPeriodEnd { get; set; }
    public bool AutoTopupEnabled { get; set; }
    public int AutoTopupThreshold { get; set; }
    public int AutoTopupAmount { get; set; }
    public int? CreditLimit { get; set; }
    public bool BillingAlerts { get; set; } = true;
    public bool UsageAlerts { get; set; } = true;
    public bool WeeklyReports { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

[Table("org_member")]
public sealed class OrgMember
{
    public required string OrgId { get; set; }
    public required string UserId { get; set; }
    public OrgRole Role { get; set; }
    public DateTime JoinedAt { get; set; }
}

[Table("org_repo")]
public sealed class OrgRepo
{
    public required string Id { get; set; }
    public required string OrgId { get; set; }
    public required string RepoUrl { get; set; }
    public required string RepoName { get; set; }
    public string? RepoOwner { get; set; }
    public required string ApprovedBy { get; set; }
    public DateTime ApprovedAt { get; set; }
    public bool IsActive { get; set; } = true;
}

[Table("org_invite")]
public sealed class OrgInvite
{
    public required string Id { get; set; }
    public required string OrgId { get; set; }
    public required string Email { get; set; }
    public OrgRole Role { get; set; }
    public required string Token { get; set; }
    public required string InvitedBy { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? AcceptedAt { get; set; }
    public string? AcceptedBy { get; set; }
}

[Table("org_feature")]
public sealed class OrgFeature
{
    public required string OrgId { get; set; }
    public required string Feature { get; set; }
    public string? Config { get; set; }
    public bool IsActive { get; set; } = true;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
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
