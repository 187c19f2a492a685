using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

[Table("publisher")]
public sealed class Publisher
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    public string? Email { get; set; }
    public bool Verified { get; set; }
    public string? Bio { get; set; }
    public string? AvatarUrl { get; set; }
    public string? UserId { get; set; }
    public string? OrgId { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

[Table("agent_config")]
public sealed class AgentConfig
{
    public required string Id { get; set; }
    public required string Version { get; set; }
    public required string PublisherId { get; set; }
    public int? Major { get; private set; }
    public int? Minor { get; private set; }
    public int? Patch { get; private set; }
    /// <summary>The normalised agent definition, kept as raw JSON text.</summary>
    public required string Data { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

[Table("agent_run")]
public sealed class AgentRun
{
    public required string Id { get; set; }
    public string? UserId { get; set; }
    public required string AgentId { get; set; }
    public string? PublisherId { get; private set; }
    public string? AgentName { get; private set; }
    public string? AgentVersion { get; private set; }
    public string[]? AncestorRunIds { get; set; }
    public string? RootRunId { get; private set; }
    public string? ParentRunId { get; private set; }
    public int? Depth { get; private set; }
    public int? DurationMs { get; private set; }
    public int? TotalSteps { get; set; } = 0;
    public decimal? DirectCredits { get; set; } = 0;
    public decimal? TotalCredits { get; set; } = 0;
    public AgentRunStatus Status { get; set; } = AgentRunStatus.Running;
    public string? ErrorMessage { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
}

[Table("agent_step")]
public sealed class AgentStep
{
    public required string Id { get; set; }
    public required string AgentRunId { get; set; }
    public int StepNumber { get; set; }
    public int? DurationMs { get; private set; }
    public decimal Credits { get; set; }
    public string[]? ChildRunIds { get; set; }
    public int? SpawnedCount { get; private set; }
    public string? MessageId { get; set; }
    public AgentStepStatus Status { get; set; } = AgentStepStatus.Completed;
    public string? ErrorMessage { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime CompletedAt { get; set; }
}

sealed class PublisherConfiguration : IEntityTypeConfiguration<Publisher>
{
    public void Configure(EntityTypeBuilder<Publisher> e)
    {
        e.HasKey(x => x.Id).HasName("publisher_pkey");
        e.Property(x => x.Verified).HasDefaultValue(false).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.UpdatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("publisher_user_id_user_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("publisher_org_id_org_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.CreatedBy).HasConstraintName("publisher_created_by_user_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.ToTable(t => t.HasCheckConstraint("publisher_single_owner",
            "(\"publisher\".\"user_id\" IS NOT NULL AND \"publisher\".\"org_id\" IS NULL) OR (\"publisher\".\"user_id\" IS NULL AND \"publisher\".\"org_id\" IS NOT NULL)"));
    }
}

sealed class AgentConfigConfiguration : IEntityTypeConfiguration<AgentConfig>
{
    public void Configure(EntityTypeBuilder<AgentConfig> e)
    {
        e.HasKey(x => new { x.PublisherId, x.Id, x.Version }).HasName("agent_config_publisher_id_id_version_pk");
        e.Property(x => x.Major).HasComputedColumnSql("CAST(SPLIT_PART(\"agent_config\".\"version\", '.', 1) AS INTEGER)", stored: true);
        e.Property(x => x.Minor).HasComputedColumnSql("CAST(SPLIT_PART(\"agent_config\".\"version\", '.', 2) AS INTEGER)", stored: true);
        e.Property(x => x.Patch).HasComputedColumnSql("CAST(SPLIT_PART(\"agent_config\".\"version\", '.', 3) AS INTEGER)", stored: true);
        e.Property(x => x.Data).HasColumnType("jsonb");
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.UpdatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasOne<Publisher>().WithMany().HasForeignKey(x => x.PublisherId).HasConstraintName("agent_config_publisher_id_publisher_id_fk").OnDelete(DeleteBehavior.NoAction);
        e.HasIndex(x => x.PublisherId).HasDatabaseName("idx_agent_config_publisher");
    }
}

sealed class AgentRunConfiguration : IEntityTypeConfiguration<AgentRun>
{
    const string Qualified = "agent_id ~ '^[^/@]+/[^/@]+@[^/@]+$'";

    public void Configure(EntityTypeBuilder<AgentRun> e)
    {
        e.HasKey(x => x.Id).HasName("agent_run_pkey");
        e.Property(x => x.PublisherId).HasComputedColumnSql($"CASE WHEN {Qualified} THEN split_part(agent_id, '/', 1) ELSE NULL END", stored: true);
        e.Property(x => x.AgentName).HasComputedColumnSql($"CASE WHEN {Qualified} THEN split_part(split_part(agent_id, '/', 2), '@', 1) ELSE agent_id END", stored: true);
        e.Property(x => x.AgentVersion).HasComputedColumnSql($"CASE WHEN {Qualified} THEN split_part(agent_id, '@', 2) ELSE NULL END", stored: true);
        e.Property(x => x.AncestorRunIds).HasColumnType("text[]");
        e.Property(x => x.RootRunId).HasComputedColumnSql("CASE WHEN array_length(ancestor_run_ids, 1) >= 1 THEN ancestor_run_ids[1] ELSE id END", stored: true);
        e.Property(x => x.ParentRunId).HasComputedColumnSql("CASE WHEN array_length(ancestor_run_ids, 1) >= 1 THEN ancestor_run_ids[array_length(ancestor_run_ids, 1)] ELSE NULL END", stored: true);
        e.Property(x => x.Depth).HasComputedColumnSql("COALESCE(array_length(ancestor_run_ids, 1), 1)", stored: true);
        e.Property(x => x.DurationMs).HasComputedColumnSql("CASE WHEN completed_at IS NOT NULL THEN EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000 ELSE NULL END::integer", stored: true);
        e.Property(x => x.TotalSteps).HasDefaultValue(0).ValueGeneratedNever();
        e.Property(x => x.DirectCredits).HasPrecision(10, 6).HasDefaultValueSql("'0'").ValueGeneratedNever();
        e.Property(x => x.TotalCredits).HasPrecision(10, 6).HasDefaultValueSql("'0'").ValueGeneratedNever();
        e.Property(x => x.Status).HasDefaultValue(AgentRunStatus.Running).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.CompletedAt).HasColumnType("timestamp with time zone");
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("agent_run_user_id_user_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasIndex(x => new { x.UserId, x.CreatedAt }).HasDatabaseName("idx_agent_run_user_id");
        e.HasIndex(x => x.ParentRunId).HasDatabaseName("idx_agent_run_parent");
        e.HasIndex(x => x.RootRunId).HasDatabaseName("idx_agent_run_root");
        e.HasIndex(x => new { x.AgentId, x.CreatedAt }).HasDatabaseName("idx_agent_run_agent_id");
        e.HasIndex(x => new { x.PublisherId, x.CreatedAt }).HasDatabaseName("idx_agent_run_publisher");
        e.HasIndex(x => x.Status).HasDatabaseName("idx_agent_run_status").HasFilter("\"agent_run\".\"status\" = 'running'");
        e.HasIndex(x => x.AncestorRunIds).HasDatabaseName("idx_agent_run_ancestors_gin").HasMethod("gin");
        e.HasIndex(x => new { x.PublisherId, x.AgentName }).HasDatabaseName("idx_agent_run_completed_publisher_agent").HasFilter("\"agent_run\".\"status\" = 'completed'");
        e.HasIndex(x => new { x.CreatedAt, x.PublisherId, x.AgentName }).HasDatabaseName("idx_agent_run_completed_recent").HasFilter("\"agent_run\".\"status\" = 'completed'");
        e.HasIndex(x => new { x.PublisherId, x.AgentName, x.AgentVersion, x.CreatedAt }).HasDatabaseName("idx_agent_run_completed_version").HasFilter("\"agent_run\".\"status\" = 'completed'");
        e.HasIndex(x => x.UserId).HasDatabaseName("idx_agent_run_completed_user").HasFilter("\"agent_run\".\"status\" = 'completed'");
    }
}

sealed class AgentStepConfiguration : IEntityTypeConfiguration<AgentStep>
{
    public void Configure(EntityTypeBuilder<AgentStep> e)
    {
        e.HasKey(x => x.Id).HasName("agent_step_pkey");
        e.Property(x => x.DurationMs).HasComputedColumnSql("CASE WHEN completed_at IS NOT NULL THEN EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000 ELSE NULL END::integer", stored: true);
        e.Property(x => x.Credits).HasPrecision(10, 6).HasDefaultValueSql("'0'").ValueGeneratedNever();
        e.Property(x => x.ChildRunIds).HasColumnType("text[]");
        e.Property(x => x.SpawnedCount).HasComputedColumnSql("array_length(child_run_ids, 1)", stored: true);
        e.Property(x => x.Status).HasDefaultValue(AgentStepStatus.Completed).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.Property(x => x.CompletedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
        e.HasOne<AgentRun>().WithMany().HasForeignKey(x => x.AgentRunId).HasConstraintName("agent_step_agent_run_id_agent_run_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasIndex(x => new { x.AgentRunId, x.StepNumber }).IsUnique().HasDatabaseName("unique_step_number_per_run");
        e.HasIndex(x => x.AgentRunId).HasDatabaseName("idx_agent_step_run_id");
        e.HasIndex(x => x.ChildRunIds).HasDatabaseName("idx_agent_step_children_gin").HasMethod("gin");
    }
}
