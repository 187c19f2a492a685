using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

[Table("publisher")]
public sealed class Publisher
{
    [Column("id")] public required string Id { get; set; }
    [Column("name")] public required string Name { get; set; }
    [Column("email")] public string? Email { get; set; }
    [Column("verified")] public bool Verified { get; set; }
    [Column("bio")] public string? Bio { get; set; }
    [Column("avatar_url")] public string? AvatarUrl { get; set; }
    [Column("user_id")] public string? UserId { get; set; }
    [Column("org_id")] public string? OrgId { get; set; }
    [Column("created_by")] public required string CreatedBy { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("updated_at")] public DateTime UpdatedAt { get; set; }
}

[Table("agent_config")]
public sealed class AgentConfig
{
    [Column("id")] public required string Id { get; set; }
    [Column("version")] public required string Version { get; set; }
    [Column("publisher_id")] public required string PublisherId { get; set; }
    [Column("major")] public int? Major { get; private set; }
    [Column("minor")] public int? Minor { get; private set; }
    [Column("patch")] public int? Patch { get; private set; }
    /// <summary>The normalised agent definition, kept as raw JSON text.</summary>
    [Column("data")] public required string Data { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("updated_at")] public DateTime UpdatedAt { get; set; }
}

[Table("agent_run")]
public sealed class AgentRun
{
    [Column("id")] public required string Id { get; set; }
    [Column("user_id")] public string? UserId { get; set; }
    [Column("agent_id")] public required string AgentId { get; set; }
    [Column("publisher_id")] public string? PublisherId { get; private set; }
    [Column("agent_name")] public string? AgentName { get; private set; }
    [Column("agent_version")] public string? AgentVersion { get; private set; }
    [Column("ancestor_run_ids")] public string[]? AncestorRunIds { get; set; }
    [Column("root_run_id")] public string? RootRunId { get; private set; }
    [Column("parent_run_id")] public string? ParentRunId { get; private set; }
    [Column("depth")] public int? Depth { get; private set; }
    [Column("duration_ms")] public int? DurationMs { get; private set; }
    [Column("total_steps")] public int? TotalSteps { get; set; } = 0;
    [Column("direct_credits")] public decimal? DirectCredits { get; set; } = 0;
    [Column("total_credits")] public decimal? TotalCredits { get; set; } = 0;
    [Column("status")] public AgentRunStatus Status { get; set; } = AgentRunStatus.Running;
    [Column("error_message")] public string? ErrorMessage { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("completed_at")] public DateTime? CompletedAt { get; set; }
}

[Table("agent_step")]
public sealed class AgentStep
{
    [Column("id")] public required string Id { get; set; }
    [Column("agent_run_id")] public required string AgentRunId { get; set; }
    [Column("step_number")] public int StepNumber { get; set; }
    [Column("duration_ms")] public int? DurationMs { get; private set; }
    [Column("credits")] public decimal Credits { get; set; }
    [Column("child_run_ids")] public string[]? ChildRunIds { get; set; }
    [Column("spawned_count")] public int? SpawnedCount { get; private set; }
    [Column("message_id")] public string? MessageId { get; set; }
    [Column("status")] public AgentStepStatus Status { get; set; } = AgentStepStatus.Completed;
    [Column("error_message")] public string? ErrorMessage { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
    [Column("completed_at")] public DateTime CompletedAt { get; set; }
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
