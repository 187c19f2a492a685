using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

/// <summary>One row per billed LLM call: the billing fact that accompanies every ledger consumption.</summary>
[Table("message")]
public sealed class Message
{
    public required string Id { get; set; }
    public DateTime FinishedAt { get; set; }
    public string? ClientId { get; set; }
    public string? ClientRequestId { get; set; }
    public required string Model { get; set; }
    public string? AgentId { get; set; }
    public string? Request { get; set; }
    public string? LastMessage { get; private set; }
    public string? ReasoningText { get; set; }
    /// <summary>JSON text; the generated answer is stored as a JSON string value.</summary>
    public required string Response { get; set; }
    public int InputTokens { get; set; }
    public int? CacheCreationInputTokens { get; set; }
    public int CacheReadInputTokens { get; set; }
    public int? ReasoningTokens { get; set; }
    public int OutputTokens { get; set; }
    public decimal Cost { get; set; }
    public int Credits { get; set; }
    public bool Byok { get; set; }
    public int? LatencyMs { get; set; }
    public string? UserId { get; set; }
    public string? OrgId { get; set; }
    public string? RepoUrl { get; set; }
}

[Table("git_eval_results")]
public sealed class GitEvalResult
{
    public required string Id { get; set; }
    public string? CostMode { get; set; }
    public string? ReasonerModel { get; set; }
    public string? AgentModel { get; set; }
    public string? Metadata { get; set; }
    public int Cost { get; set; }
    public bool IsPublic { get; set; }
    public DateTime CreatedAt { get; set; }
}

sealed class MessageConfiguration : IEntityTypeConfiguration<Message>
{
    public void Configure(EntityTypeBuilder<Message> e)
    {
        e.HasKey(x => x.Id).HasName("message_pkey");
        e.Property(x => x.FinishedAt).IsUtcTimestamp();
        e.Property(x => x.Request).HasColumnType("jsonb");
        e.Property(x => x.LastMessage).HasColumnType("jsonb").HasComputedColumnSql("\"message\".\"request\" -> -1", stored: true);
        e.Property(x => x.Response).HasColumnType("jsonb");
        e.Property(x => x.InputTokens).HasDefaultValue(0).ValueGeneratedNever();
        e.Property(x => x.CacheReadInputTokens).HasDefaultValue(0).ValueGeneratedNever();
        e.Property(x => x.Cost).HasPrecision(100, 20);
        e.Property(x => x.Byok).HasDefaultValue(false).ValueGeneratedNever();
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("message_user_id_user_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasOne<Org>().WithMany().HasForeignKey(x => x.OrgId).HasConstraintName("message_org_id_org_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasIndex(x => x.UserId).HasDatabaseName("message_user_id_idx");
        e.HasIndex(x => new { x.FinishedAt, x.UserId }).HasDatabaseName("message_finished_at_user_id_idx");
        e.HasIndex(x => x.OrgId).HasDatabaseName("message_org_id_idx");
        e.HasIndex(x => new { x.OrgId, x.FinishedAt }).HasDatabaseName("message_org_id_finished_at_idx");
    }
}

sealed class GitEvalResultConfiguration : IEntityTypeConfiguration<GitEvalResult>
{
    public void Configure(EntityTypeBuilder<GitEvalResult> e)
    {
        e.HasKey(x => x.Id).HasName("git_eval_results_pkey");
        e.Property(x => x.Metadata).HasColumnType("jsonb");
        e.Property(x => x.Cost).HasDefaultValue(0).ValueGeneratedNever();
        e.Property(x => x.IsPublic).HasDefaultValue(false).ValueGeneratedNever();
        e.Property(x => x.CreatedAt).HasColumnType("timestamp with time zone").HasDefaultValueSql("now()");
    }
}
