using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;
using Npgsql.NameTranslation;

namespace Codebuff.Server.Data;

public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();
    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<Session> Sessions => Set<Session>();
    public DbSet<Fingerprint> Fingerprints => Set<Fingerprint>();
    public DbSet<VerificationToken> VerificationTokens => Set<VerificationToken>();
    public DbSet<EncryptedApiKey> EncryptedApiKeys => Set<EncryptedApiKey>();
    internal DbSet<CreditGrant> CreditLedger => Set<CreditGrant>();
    public DbSet<Referral> Referrals => Set<Referral>();
    public DbSet<SyncFailure> SyncFailures => Set<SyncFailure>();
    public DbSet<Org> Orgs => Set<Org>();
    public DbSet<OrgMember> OrgMembers => Set<OrgMember>();
    public DbSet<OrgRepo> OrgRepos => Set<OrgRepo>();
    public DbSet<OrgInvite> OrgInvites => Set<OrgInvite>();
    public DbSet<OrgFeature> OrgFeatures => Set<OrgFeature>();
    public DbSet<Publisher> Publishers => Set<Publisher>();
    public DbSet<AgentConfig> AgentConfigs => Set<AgentConfig>();
    public DbSet<AgentRun> AgentRuns => Set<AgentRun>();
    public DbSet<AgentStep> AgentSteps => Set<AgentStep>();
    public DbSet<Message> Messages => Set<Message>();
    public DbSet<GitEvalResult> GitEvalResults => Set<GitEvalResult>();

    /// <summary>
    /// Service key of the context for read-only dashboard and store queries: on ConnectionStrings:ReadOnly (a read
    /// replica) when set, else the request's primary context. Writes, balances and anything read right after a write
    /// use the primary.
    /// </summary>
    public const string ReadOnly = "read-only";

    /// <summary>
    /// EF owns the Npgsql data source, so the native enums are mapped once, here. The data source is named: unnamed,
    /// Npgsql labels its pool metrics (db.client.connection.pool.name) with the connection string, host, user and
    /// database included, which /metrics would then show.
    /// </summary>
    public static void Configure(DbContextOptionsBuilder options, string connectionString, string name = "codebuff") =>
        options.UseNpgsql(connectionString, o => o
            .ConfigureDataSource(d => d.Name = name)
            .MapEnum<ReferralStatus>("referral_status")
            .MapEnum<ApiKeyType>("api_key_type")
            .MapEnum<GrantType>("grant_type")
            .MapEnum<SessionType>("session_type")
            .MapEnum<AgentRunStatus>("agent_run_status")
            .MapEnum<AgentStepStatus>("agent_step_status")
            .MapEnum<OrgRole>("org_role"));

    protected override void OnModelCreating(ModelBuilder b)
    {
        b.ApplyConfigurationsFromAssembly(typeof(AppDbContext).Assembly);
        // The seed schema spells columns in snake_case: a property is its column unless [Column] names another
        // spelling (the seed's camelCase columns, "userId"). Only mapped entities: raw SQL names its own columns.
        foreach (var property in b.Model.GetEntityTypes().SelectMany(t => t.GetDeclaredProperties()))
            if (property.FindAnnotation(RelationalAnnotationNames.ColumnName) is null)
                property.SetColumnName(NpgsqlSnakeCaseNameTranslator.ConvertToSnakeCase(property.Name));
    }

    // The seed schema lists every index explicitly; EF's automatic foreign-key indexes would add a dozen more.
    protected override void ConfigureConventions(ModelConfigurationBuilder c) =>
        c.Conventions.Remove<ForeignKeyIndexConvention>();
}
