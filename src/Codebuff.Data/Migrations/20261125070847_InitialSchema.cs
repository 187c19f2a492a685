using System;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class InitialSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The seed's label order matters (ORDER BY on an enum); EF's annotation would sort the labels.
            migrationBuilder.Sql("CREATE TYPE \"referral_status\" AS ENUM ('pending', 'completed');");
            migrationBuilder.Sql("CREATE TYPE \"api_key_type\" AS ENUM ('anthropic', 'gemini', 'openai');");
            migrationBuilder.Sql("CREATE TYPE \"grant_type\" AS ENUM ('free', 'referral', 'purchase', 'admin', 'organization');");
            migrationBuilder.Sql("CREATE TYPE \"session_type\" AS ENUM ('web', 'pat', 'cli');");
            migrationBuilder.Sql("CREATE TYPE \"agent_run_status\" AS ENUM ('running', 'completed', 'failed', 'cancelled');");
            migrationBuilder.Sql("CREATE TYPE \"agent_step_status\" AS ENUM ('running', 'completed', 'skipped');");
            migrationBuilder.Sql("CREATE TYPE \"org_role\" AS ENUM ('owner', 'admin', 'member');");

            migrationBuilder.CreateTable(
                name: "fingerprint",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    sig_hash = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("fingerprint_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "git_eval_results",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    cost_mode = table.Column<string>(type: "text", nullable: true),
                    reasoner_model = table.Column<string>(type: "text", nullable: true),
                    agent_model = table.Column<string>(type: "text", nullable: true),
                    metadata = table.Column<string>(type: "jsonb", nullable: true),
                    cost = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    is_public = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("git_eval_results_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "sync_failure",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    provider = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    last_attempt_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    retry_count = table.Column<int>(type: "integer", nullable: false, defaultValue: 1),
                    last_error = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("sync_failure_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "user",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    name = table.Column<string>(type: "text", nullable: true),
                    email = table.Column<string>(type: "text", nullable: false),
                    password = table.Column<string>(type: "text", nullable: true),
                    emailVerified = table.Column<DateTime>(type: "timestamp without time zone", nullable: true),
                    image = table.Column<string>(type: "text", nullable: true),
                    stripe_customer_id = table.Column<string>(type: "text", nullable: true),
                    stripe_price_id = table.Column<string>(type: "text", nullable: true),
                    next_quota_reset = table.Column<DateTime>(type: "timestamp without time zone", nullable: true, defaultValueSql: "now() + INTERVAL '1 month'"),
                    created_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: false, defaultValueSql: "now()"),
                    referral_code = table.Column<string>(type: "text", nullable: true, defaultValueSql: "'ref-' || gen_random_uuid()"),
                    referral_limit = table.Column<int>(type: "integer", nullable: false, defaultValue: 5),
                    discord_id = table.Column<string>(type: "text", nullable: true),
                    handle = table.Column<string>(type: "text", nullable: true),
                    auto_topup_enabled = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    auto_topup_threshold = table.Column<int>(type: "integer", nullable: true),
                    auto_topup_amount = table.Column<int>(type: "integer", nullable: true),
                    banned = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("user_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "verificationToken",
                columns: table => new
                {
                    identifier = table.Column<string>(type: "text", nullable: false),
                    token = table.Column<string>(type: "text", nullable: false),
                    expires = table.Column<DateTime>(type: "timestamp without time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("verificationToken_identifier_token_pk", x => new { x.identifier, x.token });
                });

            migrationBuilder.CreateTable(
                name: "account",
                columns: table => new
                {
                    userId = table.Column<string>(type: "text", nullable: false),
                    type = table.Column<string>(type: "text", nullable: false),
                    provider = table.Column<string>(type: "text", nullable: false),
                    providerAccountId = table.Column<string>(type: "text", nullable: false),
                    refresh_token = table.Column<string>(type: "text", nullable: true),
                    access_token = table.Column<string>(type: "text", nullable: true),
                    expires_at = table.Column<int>(type: "integer", nullable: true),
                    token_type = table.Column<string>(type: "text", nullable: true),
                    scope = table.Column<string>(type: "text", nullable: true),
                    id_token = table.Column<string>(type: "text", nullable: true),
                    session_state = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("account_provider_providerAccountId_pk", x => new { x.provider, x.providerAccountId });
                    table.ForeignKey(
                        name: "account_userId_user_id_fk",
                        column: x => x.userId,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "agent_run",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    user_id = table.Column<string>(type: "text", nullable: true),
                    agent_id = table.Column<string>(type: "text", nullable: false),
                    publisher_id = table.Column<string>(type: "text", nullable: true, computedColumnSql: "CASE WHEN agent_id ~ '^[^/@]+/[^/@]+@[^/@]+$' THEN split_part(agent_id, '/', 1) ELSE NULL END", stored: true),
                    agent_name = table.Column<string>(type: "text", nullable: true, computedColumnSql: "CASE WHEN agent_id ~ '^[^/@]+/[^/@]+@[^/@]+$' THEN split_part(split_part(agent_id, '/', 2), '@', 1) ELSE agent_id END", stored: true),
                    agent_version = table.Column<string>(type: "text", nullable: true, computedColumnSql: "CASE WHEN agent_id ~ '^[^/@]+/[^/@]+@[^/@]+$' THEN split_part(agent_id, '@', 2) ELSE NULL END", stored: true),
                    ancestor_run_ids = table.Column<string[]>(type: "text[]", nullable: true),
                    root_run_id = table.Column<string>(type: "text", nullable: true, computedColumnSql: "CASE WHEN array_length(ancestor_run_ids, 1) >= 1 THEN ancestor_run_ids[1] ELSE id END", stored: true),
                    parent_run_id = table.Column<string>(type: "text", nullable: true, computedColumnSql: "CASE WHEN array_length(ancestor_run_ids, 1) >= 1 THEN ancestor_run_ids[array_length(ancestor_run_ids, 1)] ELSE NULL END", stored: true),
                    depth = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "COALESCE(array_length(ancestor_run_ids, 1), 1)", stored: true),
                    duration_ms = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "CASE WHEN completed_at IS NOT NULL THEN EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000 ELSE NULL END::integer", stored: true),
                    total_steps = table.Column<int>(type: "integer", nullable: true, defaultValue: 0),
                    direct_credits = table.Column<decimal>(type: "numeric(10,6)", precision: 10, scale: 6, nullable: true, defaultValueSql: "'0'"),
                    total_credits = table.Column<decimal>(type: "numeric(10,6)", precision: 10, scale: 6, nullable: true, defaultValueSql: "'0'"),
                    status = table.Column<AgentRunStatus>(type: "agent_run_status", nullable: false, defaultValue: AgentRunStatus.Running),
                    error_message = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    completed_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("agent_run_pkey", x => x.id);
                    table.ForeignKey(
                        name: "agent_run_user_id_user_id_fk",
                        column: x => x.user_id,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "encrypted_api_keys",
                columns: table => new
                {
                    user_id = table.Column<string>(type: "text", nullable: false),
                    type = table.Column<ApiKeyType>(type: "api_key_type", nullable: false),
                    api_key = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("encrypted_api_keys_user_id_type_pk", x => new { x.user_id, x.type });
                    table.ForeignKey(
                        name: "encrypted_api_keys_user_id_user_id_fk",
                        column: x => x.user_id,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "org",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    slug = table.Column<string>(type: "text", nullable: false),
                    description = table.Column<string>(type: "text", nullable: true),
                    owner_id = table.Column<string>(type: "text", nullable: false),
                    stripe_customer_id = table.Column<string>(type: "text", nullable: true),
                    stripe_subscription_id = table.Column<string>(type: "text", nullable: true),
                    current_period_start = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    current_period_end = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    auto_topup_enabled = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    auto_topup_threshold = table.Column<int>(type: "integer", nullable: false),
                    auto_topup_amount = table.Column<int>(type: "integer", nullable: false),
                    credit_limit = table.Column<int>(type: "integer", nullable: true),
                    billing_alerts = table.Column<bool>(type: "boolean", nullable: false, defaultValue: true),
                    usage_alerts = table.Column<bool>(type: "boolean", nullable: false, defaultValue: true),
                    weekly_reports = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("org_pkey", x => x.id);
                    table.ForeignKey(
                        name: "org_owner_id_user_id_fk",
                        column: x => x.owner_id,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "referral",
                columns: table => new
                {
                    referrer_id = table.Column<string>(type: "text", nullable: false),
                    referred_id = table.Column<string>(type: "text", nullable: false),
                    status = table.Column<ReferralStatus>(type: "referral_status", nullable: false, defaultValue: ReferralStatus.Pending),
                    credits = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: false, defaultValueSql: "now()"),
                    completed_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("referral_referrer_id_referred_id_pk", x => new { x.referrer_id, x.referred_id });
                    table.ForeignKey(
                        name: "referral_referred_id_user_id_fk",
                        column: x => x.referred_id,
                        principalTable: "user",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "referral_referrer_id_user_id_fk",
                        column: x => x.referrer_id,
                        principalTable: "user",
                        principalColumn: "id");
                });

            migrationBuilder.CreateTable(
                name: "session",
                columns: table => new
                {
                    sessionToken = table.Column<string>(type: "text", nullable: false),
                    userId = table.Column<string>(type: "text", nullable: false),
                    expires = table.Column<DateTime>(type: "timestamp without time zone", nullable: false),
                    fingerprint_id = table.Column<string>(type: "text", nullable: true),
                    type = table.Column<SessionType>(type: "session_type", nullable: false, defaultValue: SessionType.Web)
                },
                constraints: table =>
                {
                    table.PrimaryKey("session_pkey", x => x.sessionToken);
                    table.ForeignKey(
                        name: "session_fingerprint_id_fingerprint_id_fk",
                        column: x => x.fingerprint_id,
                        principalTable: "fingerprint",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "session_userId_user_id_fk",
                        column: x => x.userId,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "agent_step",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    agent_run_id = table.Column<string>(type: "text", nullable: false),
                    step_number = table.Column<int>(type: "integer", nullable: false),
                    duration_ms = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "CASE WHEN completed_at IS NOT NULL THEN EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000 ELSE NULL END::integer", stored: true),
                    credits = table.Column<decimal>(type: "numeric(10,6)", precision: 10, scale: 6, nullable: false, defaultValueSql: "'0'"),
                    child_run_ids = table.Column<string[]>(type: "text[]", nullable: true),
                    spawned_count = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "array_length(child_run_ids, 1)", stored: true),
                    message_id = table.Column<string>(type: "text", nullable: true),
                    status = table.Column<AgentStepStatus>(type: "agent_step_status", nullable: false, defaultValue: AgentStepStatus.Completed),
                    error_message = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    completed_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("agent_step_pkey", x => x.id);
                    table.ForeignKey(
                        name: "agent_step_agent_run_id_agent_run_id_fk",
                        column: x => x.agent_run_id,
                        principalTable: "agent_run",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "credit_ledger",
                columns: table => new
                {
                    operation_id = table.Column<string>(type: "text", nullable: false),
                    user_id = table.Column<string>(type: "text", nullable: false),
                    principal = table.Column<int>(type: "integer", nullable: false),
                    balance = table.Column<int>(type: "integer", nullable: false),
                    type = table.Column<GrantType>(type: "grant_type", nullable: false),
                    description = table.Column<string>(type: "text", nullable: true),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    org_id = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("credit_ledger_pkey", x => x.operation_id);
                    table.ForeignKey(
                        name: "credit_ledger_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "credit_ledger_user_id_user_id_fk",
                        column: x => x.user_id,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "message",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    finished_at = table.Column<DateTime>(type: "timestamp without time zone", nullable: false),
                    client_id = table.Column<string>(type: "text", nullable: true),
                    client_request_id = table.Column<string>(type: "text", nullable: true),
                    model = table.Column<string>(type: "text", nullable: false),
                    agent_id = table.Column<string>(type: "text", nullable: true),
                    request = table.Column<string>(type: "jsonb", nullable: true),
                    last_message = table.Column<string>(type: "jsonb", nullable: true, computedColumnSql: "\"message\".\"request\" -> -1", stored: true),
                    reasoning_text = table.Column<string>(type: "text", nullable: true),
                    response = table.Column<string>(type: "jsonb", nullable: false),
                    input_tokens = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    cache_creation_input_tokens = table.Column<int>(type: "integer", nullable: true),
                    cache_read_input_tokens = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    reasoning_tokens = table.Column<int>(type: "integer", nullable: true),
                    output_tokens = table.Column<int>(type: "integer", nullable: false),
                    cost = table.Column<decimal>(type: "numeric(100,20)", precision: 100, scale: 20, nullable: false),
                    credits = table.Column<int>(type: "integer", nullable: false),
                    byok = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    latency_ms = table.Column<int>(type: "integer", nullable: true),
                    user_id = table.Column<string>(type: "text", nullable: true),
                    org_id = table.Column<string>(type: "text", nullable: true),
                    repo_url = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("message_pkey", x => x.id);
                    table.ForeignKey(
                        name: "message_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "message_user_id_user_id_fk",
                        column: x => x.user_id,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "org_feature",
                columns: table => new
                {
                    org_id = table.Column<string>(type: "text", nullable: false),
                    feature = table.Column<string>(type: "text", nullable: false),
                    config = table.Column<string>(type: "jsonb", nullable: true),
                    is_active = table.Column<bool>(type: "boolean", nullable: false, defaultValue: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("org_feature_org_id_feature_pk", x => new { x.org_id, x.feature });
                    table.ForeignKey(
                        name: "org_feature_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "org_invite",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    org_id = table.Column<string>(type: "text", nullable: false),
                    email = table.Column<string>(type: "text", nullable: false),
                    role = table.Column<OrgRole>(type: "org_role", nullable: false),
                    token = table.Column<string>(type: "text", nullable: false),
                    invited_by = table.Column<string>(type: "text", nullable: false),
                    expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    accepted_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    accepted_by = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("org_invite_pkey", x => x.id);
                    table.UniqueConstraint("org_invite_token_unique", x => x.token);
                    table.ForeignKey(
                        name: "org_invite_accepted_by_user_id_fk",
                        column: x => x.accepted_by,
                        principalTable: "user",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "org_invite_invited_by_user_id_fk",
                        column: x => x.invited_by,
                        principalTable: "user",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "org_invite_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "org_member",
                columns: table => new
                {
                    org_id = table.Column<string>(type: "text", nullable: false),
                    user_id = table.Column<string>(type: "text", nullable: false),
                    role = table.Column<OrgRole>(type: "org_role", nullable: false),
                    joined_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("org_member_org_id_user_id_pk", x => new { x.org_id, x.user_id });
                    table.ForeignKey(
                        name: "org_member_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "org_member_user_id_user_id_fk",
                        column: x => x.user_id,
                        principalTable: "user",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "org_repo",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    org_id = table.Column<string>(type: "text", nullable: false),
                    repo_url = table.Column<string>(type: "text", nullable: false),
                    repo_name = table.Column<string>(type: "text", nullable: false),
                    repo_owner = table.Column<string>(type: "text", nullable: true),
                    approved_by = table.Column<string>(type: "text", nullable: false),
                    approved_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    is_active = table.Column<bool>(type: "boolean", nullable: false, defaultValue: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("org_repo_pkey", x => x.id);
                    table.ForeignKey(
                        name: "org_repo_approved_by_user_id_fk",
                        column: x => x.approved_by,
                        principalTable: "user",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "org_repo_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "publisher",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    email = table.Column<string>(type: "text", nullable: true),
                    verified = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    bio = table.Column<string>(type: "text", nullable: true),
                    avatar_url = table.Column<string>(type: "text", nullable: true),
                    user_id = table.Column<string>(type: "text", nullable: true),
                    org_id = table.Column<string>(type: "text", nullable: true),
                    created_by = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("publisher_pkey", x => x.id);
                    table.CheckConstraint("publisher_single_owner", "(\"publisher\".\"user_id\" IS NOT NULL AND \"publisher\".\"org_id\" IS NULL) OR (\"publisher\".\"user_id\" IS NULL AND \"publisher\".\"org_id\" IS NOT NULL)");
                    table.ForeignKey(
                        name: "publisher_created_by_user_id_fk",
                        column: x => x.created_by,
                        principalTable: "user",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "publisher_org_id_org_id_fk",
                        column: x => x.org_id,
                        principalTable: "org",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "publisher_user_id_user_id_fk",
                        column: x => x.user_id,
                        principalTable: "user",
                        principalColumn: "id");
                });

            migrationBuilder.CreateTable(
                name: "agent_config",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    version = table.Column<string>(type: "text", nullable: false),
                    publisher_id = table.Column<string>(type: "text", nullable: false),
                    major = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "CAST(SPLIT_PART(\"agent_config\".\"version\", '.', 1) AS INTEGER)", stored: true),
                    minor = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "CAST(SPLIT_PART(\"agent_config\".\"version\", '.', 2) AS INTEGER)", stored: true),
                    patch = table.Column<int>(type: "integer", nullable: true, computedColumnSql: "CAST(SPLIT_PART(\"agent_config\".\"version\", '.', 3) AS INTEGER)", stored: true),
                    data = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("agent_config_publisher_id_id_version_pk", x => new { x.publisher_id, x.id, x.version });
                    table.ForeignKey(
                        name: "agent_config_publisher_id_publisher_id_fk",
                        column: x => x.publisher_id,
                        principalTable: "publisher",
                        principalColumn: "id");
                });

            migrationBuilder.CreateIndex(
                name: "idx_agent_config_publisher",
                table: "agent_config",
                column: "publisher_id");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_agent_id",
                table: "agent_run",
                columns: new[] { "agent_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_ancestors_gin",
                table: "agent_run",
                column: "ancestor_run_ids")
                .Annotation("Npgsql:IndexMethod", "gin");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_completed_publisher_agent",
                table: "agent_run",
                columns: new[] { "publisher_id", "agent_name" },
                filter: "\"agent_run\".\"status\" = 'completed'");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_completed_recent",
                table: "agent_run",
                columns: new[] { "created_at", "publisher_id", "agent_name" },
                filter: "\"agent_run\".\"status\" = 'completed'");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_completed_user",
                table: "agent_run",
                column: "user_id",
                filter: "\"agent_run\".\"status\" = 'completed'");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_completed_version",
                table: "agent_run",
                columns: new[] { "publisher_id", "agent_name", "agent_version", "created_at" },
                filter: "\"agent_run\".\"status\" = 'completed'");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_parent",
                table: "agent_run",
                column: "parent_run_id");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_publisher",
                table: "agent_run",
                columns: new[] { "publisher_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_root",
                table: "agent_run",
                column: "root_run_id");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_status",
                table: "agent_run",
                column: "status",
                filter: "\"agent_run\".\"status\" = 'running'");

            migrationBuilder.CreateIndex(
                name: "idx_agent_run_user_id",
                table: "agent_run",
                columns: new[] { "user_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "idx_agent_step_children_gin",
                table: "agent_step",
                column: "child_run_ids")
                .Annotation("Npgsql:IndexMethod", "gin");

            migrationBuilder.CreateIndex(
                name: "idx_agent_step_run_id",
                table: "agent_step",
                column: "agent_run_id");

            migrationBuilder.CreateIndex(
                name: "unique_step_number_per_run",
                table: "agent_step",
                columns: new[] { "agent_run_id", "step_number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "idx_credit_ledger_active_balance",
                table: "credit_ledger",
                columns: new[] { "user_id", "balance", "expires_at", "priority", "created_at" },
                filter: "\"credit_ledger\".\"balance\" != 0 AND \"credit_ledger\".\"expires_at\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "idx_credit_ledger_org",
                table: "credit_ledger",
                column: "org_id");

            migrationBuilder.CreateIndex(
                name: "message_finished_at_user_id_idx",
                table: "message",
                columns: new[] { "finished_at", "user_id" });

            migrationBuilder.CreateIndex(
                name: "message_org_id_finished_at_idx",
                table: "message",
                columns: new[] { "org_id", "finished_at" });

            migrationBuilder.CreateIndex(
                name: "message_org_id_idx",
                table: "message",
                column: "org_id");

            migrationBuilder.CreateIndex(
                name: "message_user_id_idx",
                table: "message",
                column: "user_id");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"org\" ADD CONSTRAINT \"org_slug_unique\" UNIQUE (\"slug\");");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"org\" ADD CONSTRAINT \"org_stripe_customer_id_unique\" UNIQUE (\"stripe_customer_id\");");

            migrationBuilder.CreateIndex(
                name: "idx_org_feature_active",
                table: "org_feature",
                columns: new[] { "org_id", "is_active" });

            migrationBuilder.CreateIndex(
                name: "idx_org_invite_email",
                table: "org_invite",
                columns: new[] { "org_id", "email" });

            migrationBuilder.CreateIndex(
                name: "idx_org_invite_expires",
                table: "org_invite",
                column: "expires_at");

            migrationBuilder.CreateIndex(
                name: "idx_org_invite_token",
                table: "org_invite",
                column: "token");

            migrationBuilder.CreateIndex(
                name: "idx_org_repo_active",
                table: "org_repo",
                columns: new[] { "org_id", "is_active" });

            migrationBuilder.CreateIndex(
                name: "idx_org_repo_unique",
                table: "org_repo",
                columns: new[] { "org_id", "repo_url" });

            migrationBuilder.CreateIndex(
                name: "idx_sync_failure_retry",
                table: "sync_failure",
                columns: new[] { "retry_count", "last_attempt_at" },
                filter: "\"sync_failure\".\"retry_count\" < 5");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"user\" ADD CONSTRAINT \"user_discord_id_unique\" UNIQUE (\"discord_id\");");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"user\" ADD CONSTRAINT \"user_email_unique\" UNIQUE (\"email\");");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"user\" ADD CONSTRAINT \"user_handle_unique\" UNIQUE (\"handle\");");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"user\" ADD CONSTRAINT \"user_referral_code_unique\" UNIQUE (\"referral_code\");");

            // A UNIQUE constraint, as in the seed schema (EF models it as a unique index of the same name).
            migrationBuilder.Sql("ALTER TABLE \"user\" ADD CONSTRAINT \"user_stripe_customer_id_unique\" UNIQUE (\"stripe_customer_id\");");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "account");

            migrationBuilder.DropTable(
                name: "agent_config");

            migrationBuilder.DropTable(
                name: "agent_step");

            migrationBuilder.DropTable(
                name: "credit_ledger");

            migrationBuilder.DropTable(
                name: "encrypted_api_keys");

            migrationBuilder.DropTable(
                name: "git_eval_results");

            migrationBuilder.DropTable(
                name: "message");

            migrationBuilder.DropTable(
                name: "org_feature");

            migrationBuilder.DropTable(
                name: "org_invite");

            migrationBuilder.DropTable(
                name: "org_member");

            migrationBuilder.DropTable(
                name: "org_repo");

            migrationBuilder.DropTable(
                name: "referral");

            migrationBuilder.DropTable(
                name: "session");

            migrationBuilder.DropTable(
                name: "sync_failure");

            migrationBuilder.DropTable(
                name: "verificationToken");

            migrationBuilder.DropTable(
                name: "publisher");

            migrationBuilder.DropTable(
                name: "agent_run");

            migrationBuilder.DropTable(
                name: "fingerprint");

            migrationBuilder.DropTable(
                name: "org");

            migrationBuilder.DropTable(
                name: "user");

            migrationBuilder.Sql("DROP TYPE \"referral_status\";");
            migrationBuilder.Sql("DROP TYPE \"api_key_type\";");
            migrationBuilder.Sql("DROP TYPE \"grant_type\";");
            migrationBuilder.Sql("DROP TYPE \"session_type\";");
            migrationBuilder.Sql("DROP TYPE \"agent_run_status\";");
            migrationBuilder.Sql("DROP TYPE \"agent_step_status\";");
            migrationBuilder.Sql("DROP TYPE \"org_role\";");
        }
    }
}
