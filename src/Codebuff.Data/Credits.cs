using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

[Table("credit_ledger")]
internal sealed class CreditGrant
{
    public required string OperationId { get; set; }
    public required string UserId { get; set; }
    public int Principal { get; set; }
    public int Balance { get; set; }
    public GrantType Type { get; set; }
    public string? Description { get; set; }
    public int Priority { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public string? OrgId { get; set; }
}

[Table("referral")]
public sealed class Referral
{
    public required string ReferrerId { get; set; }
    public required string ReferredId { get; set; }
    public ReferralStatus Status { get; set; } = ReferralStatus.Pending;
    public int Credits { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
}

[Table("sync_failure")]
public sealed class SyncFailure
{
    public required string Id { get; set; }
    public required string Provider { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime LastAttemptAt { get; set; }
    public int RetryCount { get; set; } = 1;
    public required string LastError { get; set; }
}

sealed class CreditGrantConfiguration : IEntityTypeConfiguration<CreditGrant>
{
    public void Configure(EntityTypeBuilder<CreditGrant> e)
    {
        e.HasKey(x => x.OperationId).HasName("credit_ledger_pkey");
        e.Property(x => x.ExpiresAt).HasColumnType("timestamp with time zone");
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("credit_ledger_user_id_user_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("credit_ledger_org_id_org_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasIndex(x => new { x.UserId, x.Balance, x.ExpiresAt, x.Priority, x.CreatedAt })
            .HasDatabaseName("idx_credit_ledger_active_balance")
            .HasFilter("\"credit_ledger\".\"balance\" != 0 AND \"credit_ledger\".\"expires_at\" IS NULL");
        e.HasIndex(x => x.OrgId).HasDatabaseName("idx_credit_ledger_org");
    }
}

sealed class ReferralConfiguration : IEntityTypeConfiguration<Referral>
{
    public void Configure(EntityTypeBuilder<Referral> e)
    {
        e.HasKey(x => new { x.ReferrerId, x.ReferredId }).HasName("referral_referrer_id_referred_id_pk");
        e.Property(x => x.Status).HasDefaultValue(ReferralStatus.Pending).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).IsUtcTimestamp().HasDefaultValueSql("now()");
        e.Property(x => x.CompletedAt).IsUtcTimestamp();
        e.HasOne<User>().WithMany().HasForeignKey(x => x.ReferrerId).HasConstraintName("referral_referrer_id_user_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.ReferredId).HasConstraintName("referral_referred_id_user_id_fk").OnDelete(DeleteBehavior.NoAction);
    }
}

sealed class SyncFailureConfiguration : IEntityTypeConfiguration<SyncFailure>
{
    public void Configure(EntityTypeBuilder<SyncFailure> e)
    {
        e.HasKey(x => x.Id).HasName("sync_failure_pkey");
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.LastAttemptAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.RetryCount).HasDefaultValue(1).ValueGeneratedNever();
        e.HasIndex(x => new { x.RetryCount, x.LastAttemptAt })
            .HasDatabaseName("idx_sync_failure_retry")
            .HasFilter("\"sync_failure\".\"retry_count\" < 5");
    }
}
