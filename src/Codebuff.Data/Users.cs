using System.ComponentModel.DataAnnotations.Schema;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Codebuff.Server.Data;

[Table("user")]
public sealed class User
{
    public required string Id { get; set; }
    public string? Name { get; set; }
    public required string Email { get; set; }
    public string? Password { get; set; }
    [Column("emailVerified")] public DateTime? EmailVerified { get; set; }
    public string? Image { get; set; }
    public string? StripeCustomerId { get; set; }
    public string? StripePriceId { get; set; }
    public DateTime? NextQuotaReset { get; set; }
    public DateTime CreatedAt { get; set; }
    public string? ReferralCode { get; set; }
    public int ReferralLimit { get; set; } = 5;
    public string? DiscordId { get; set; }
    public string? Handle { get; set; }
    public bool AutoTopupEnabled { get; set; }
    public int? AutoTopupThreshold { get; set; }
    public int? AutoTopupAmount { get; set; }
    public bool Banned { get; set; }
}

[Table("account")]
public sealed class Account
{
    [Column("userId")] public required string UserId { get; set; }
    public required string Type { get; set; }
    public required string Provider { get; set; }
    [Column("providerAccountId")] public required string ProviderAccountId { get; set; }
    public string? RefreshToken { get; set; }
    public string? AccessToken { get; set; }
    public int? ExpiresAt { get; set; }
    public string? TokenType { get; set; }
    public string? Scope { get; set; }
    public string? IdToken { get; set; }
    public string? SessionState { get; set; }
}

[Table("session")]
public sealed class Session
{
    /// <summary>Holds the keyed hash of the bearer token, never the token itself (see Auth/TokenHasher).</summary>
    [Column("sessionToken")] public required string SessionToken { get; set; }
    [Column("userId")] public required string UserId { get; set; }
    public DateTime Expires { get; set; }
    public string? FingerprintId { get; set; }
    public SessionType Type { get; set; } = SessionType.Web;
}

[Table("fingerprint")]
public sealed class Fingerprint
{
    public required string Id { get; set; }
    public string? SigHash { get; set; }
    public DateTime CreatedAt { get; set; }
}

[Table("verificationToken")]
public sealed class VerificationToken
{
    public required string Identifier { get; set; }
    public required string Token { get; set; }
    public DateTime Expires { get; set; }
}

[Table("encrypted_api_keys")]
public sealed class EncryptedApiKey
{
    public required string UserId { get; set; }
    public ApiKeyType Type { get; set; }
    public required string ApiKey { get; set; }
}

sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> e)
    {
        e.HasKey(x => x.Id).HasName("user_pkey");
        e.Property(x => x.EmailVerified).IsUtcTimestamp();
        e.Property(x => x.NextQuotaReset).IsUtcTimestamp().HasDefaultValueSql("now() + INTERVAL '1 month'");
        e.Property(x => x.CreatedAt).IsUtcTimestamp().HasDefaultValueSql("now()");
        e.Property(x => x.ReferralCode).HasDefaultValueSql("'ref-' || gen_random_uuid()");
        e.Property(x => x.ReferralLimit).HasDefaultValue(5).ValueGeneratedNever();
        e.Property(x => x.AutoTopupEnabled).HasDefaultValue(false).ValueGeneratedNever();
        e.Property(x => x.Banned).HasDefaultValue(false).ValueGeneratedNever();
        // Unique constraints (not bare indexes): the initial migration turns these into ADD CONSTRAINT ... UNIQUE.
        e.HasIndex(x => x.Email).IsUnique().HasDatabaseName("user_email_unique");
        e.HasIndex(x => x.StripeCustomerId).IsUnique().HasDatabaseName("user_stripe_customer_id_unique");
        e.HasIndex(x => x.ReferralCode).IsUnique().HasDatabaseName("user_referral_code_unique");
        e.HasIndex(x => x.DiscordId).IsUnique().HasDatabaseName("user_discord_id_unique");
        e.HasIndex(x => x.Handle).IsUnique().HasDatabaseName("user_handle_unique");
    }
}

sealed class AccountConfiguration : IEntityTypeConfiguration<Account>
{
    public void Configure(EntityTypeBuilder<Account> e)
    {
        e.HasKey(x => new { x.Provider, x.ProviderAccountId }).HasName("account_provider_providerAccountId_pk");
        // Keep the seed's column order; EF would otherwise put the key columns first.
        e.Property(x => x.UserId).HasColumnOrder(0);
        e.Property(x => x.Type).HasColumnOrder(1);
        e.Property(x => x.Provider).HasColumnOrder(2);
        e.Property(x => x.ProviderAccountId).HasColumnOrder(3);
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("account_userId_user_id_fk").OnDelete(DeleteBehavior.Cascade);
    }
}

sealed class SessionConfiguration : IEntityTypeConfiguration<Session>
{
    public void Configure(EntityTypeBuilder<Session> e)
    {
        e.HasKey(x => x.SessionToken).HasName("session_pkey");
        e.Property(x => x.Expires).IsUtcTimestamp();
        e.Property(x => x.Type).HasDefaultValue(SessionType.Web).ValueGeneratedNever();
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("session_userId_user_id_fk").OnDelete(DeleteBehavior.Cascade);
        e.HasOne<Fingerprint>().WithMany().HasForeignKey(x => x.FingerprintId).HasConstraintName("session_fingerprint_id_fingerprint_id_fk").OnDelete(DeleteBehavior.NoAction);
    }
}

sealed class FingerprintConfiguration : IEntityTypeConfiguration<Fingerprint>
{
    public void Configure(EntityTypeBuilder<Fingerprint> e)
    {
        e.HasKey(x => x.Id).HasName("fingerprint_pkey");
        e.Property(x => x.CreatedAt).IsUtcTimestamp().HasDefaultValueSql("now()");
    }
}

sealed class VerificationTokenConfiguration : IEntityTypeConfiguration<VerificationToken>
{
    public void Configure(EntityTypeBuilder<VerificationToken> e)
    {
        e.HasKey(x => new { x.Identifier, x.Token }).HasName("verificationToken_identifier_token_pk");
        e.Property(x => x.Expires).IsUtcTimestamp();
    }
}

sealed class EncryptedApiKeyConfiguration : IEntityTypeConfiguration<EncryptedApiKey>
{
    public void Configure(EntityTypeBuilder<EncryptedApiKey> e)
    {
        e.HasKey(x => new { x.UserId, x.Type }).HasName("encrypted_api_keys_user_id_type_pk");
        e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).HasConstraintName("encrypted_api_keys_user_id_user_id_fk").OnDelete(DeleteBehavior.Cascade);
    }
}
