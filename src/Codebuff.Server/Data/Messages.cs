using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

/// <summary>One row per billed LLM call: the billing fact that accompanies every ledger consumption.</summary>
[Table("message")]
public sealed class Message
{
    [Column("id")] public required string Id { get; set; }
    [Column("finished_at")] public DateTime FinishedAt { get; set; }
    [Column("client_id")] public string? ClientId { get; set; }
    [Column("client_request_id")] public string? ClientRequestId { get; set; }
    [Column("model")] public required string Model { get; set; }
    [Column("agent_id")] public string? AgentId { get; set; }
    [Column("request")] public string? Request { get; set; }
    [Column("last_message")] public string? LastMessage { get; private set; }
    [Column("reasoning_text")] public string? ReasoningText { get; set; }
    /// <summary>JSON text; the generated answer is stored as a JSON string value.</summary>
    [Column("response")] public required string Response { get; set; }
    [Column("input_tokens")] public int InputTokens { get; set; }
    [Column("cache_creation_input_tokens")] public int? CacheCreationInputTokens { get; set; }
    [Column("cache_read_input_tokens")] public int CacheReadInputTokens { get; set; }
    [Column("reasoning_tokens")] public int? ReasoningTokens { get; set; }
    [Column("output_tokens")] public int OutputTokens { get; set; }
    [Column("cost")] public decimal Cost { get; set; }
    [Column("credits")] public int Credits { get; set; }
    [Column("byok")] public bool Byok { get; set; }
    [Column("latency_ms")] public int? LatencyMs { get; set; }
    [Column("user_id")] public string? UserId { get; set; }
    [Column("org_id")] public string? OrgId { get; set; }
    [Column("repo_url")] public string? RepoUrl { get; set; }
}

[Table("git_eval_results")]
public sealed class GitEvalResult
{
    [Column("id")] public required string Id { get; set; }
    [Column("cost_mode")] public string? CostMode { get; set; }
    [Column("reasoner_model")] public string? ReasonerModel { get; set; }
    [Column("agent_model")] public string? AgentModel { get; set; }
    [Column("metadata")] public string? Metadata { get; set; }
    [Column("cost")] public int Cost { get; set; }
    [Column("is_public")] public bool IsPublic { get; set; }
    [Column("created_at")] public DateTime CreatedAt { get; set; }
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
