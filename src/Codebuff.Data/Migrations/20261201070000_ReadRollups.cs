using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Per-day rollups of the two tables that grow without bound (agent_run, message), in our own schema "rollup" so the
/// seed's 20 tables stay exactly as they are. They are written in the same statement as the rows they count
/// (AgentRuns/RunRollups.cs on FINISH, Ledger/ChargeSql.cs on every billed call), so they are exact and never need a
/// rescan; this migration backfills them once from the rows that already exist. Not part of the EF model.
/// Days are UTC dates: agent runs by the day they started (created_at), messages by finished_at.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261201070000_ReadRollups")]
public sealed class ReadRollups : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql($"""
        CREATE SCHEMA IF NOT EXISTS rollup;
        -- Completed runs of published agents (publisher_id IS NOT NULL), per version and start day.
        CREATE TABLE rollup.agent_day (
            publisher_id text NOT NULL,
            agent_name text NOT NULL,
            agent_version text NOT NULL,
            day date NOT NULL,
            runs bigint NOT NULL,
            credits numeric NOT NULL,
            last_used timestamp with time zone NOT NULL,
            PRIMARY KEY (publisher_id, agent_name, agent_version, day)
        );
        -- Who has completed a run of an agent: its unique users are the count of its rows.
        CREATE TABLE rollup.agent_user (
            publisher_id text NOT NULL,
            agent_name text NOT NULL,
            user_id text NOT NULL,
            PRIMARY KEY (publisher_id, agent_name, user_id)
        );
        -- Every message a user made, billed to them or to an org (BYOK included, at the credits the row records).
        CREATE TABLE rollup.user_day (
            user_id text NOT NULL,
            day date NOT NULL,
            calls bigint NOT NULL,
            credits bigint NOT NULL,
            PRIMARY KEY (user_id, day)
        );
        -- An org's billed (non-BYOK) messages per member and day, as its billing cycle counts them.
        CREATE TABLE rollup.org_user_day (
            org_id text NOT NULL,
            day date NOT NULL,
            user_id text NOT NULL,
            calls bigint NOT NULL,
            credits bigint NOT NULL,
            PRIMARY KEY (org_id, day, user_id)
        );
        {BackfillSql}
        """);

    /// <summary>
    /// Rebuilds every rollup from the base tables: one full pass, run by this migration and by the read benchmark's
    /// seeder after a bulk load. The server never runs it.
    /// </summary>
    public const string BackfillSql = """
        TRUNCATE rollup.agent_day, rollup.agent_user, rollup.user_day, rollup.org_user_day;
        INSERT INTO rollup.agent_day (publisher_id, agent_name, agent_version, day, runs, credits, last_used)
        SELECT publisher_id, agent_name, agent_version, (created_at AT TIME ZONE 'UTC')::date, count(*), coalesce(sum(total_credits), 0), max(created_at)
        FROM agent_run WHERE status = 'completed' AND publisher_id IS NOT NULL
        GROUP BY 1, 2, 3, 4;
        INSERT INTO rollup.agent_user (publisher_id, agent_name, user_id)
        SELECT DISTINCT publisher_id, agent_name, user_id
        FROM agent_run WHERE status = 'completed' AND publisher_id IS NOT NULL AND user_id IS NOT NULL;
        INSERT INTO rollup.user_day (user_id, day, calls, credits)
        SELECT user_id, finished_at::date, count(*), sum(credits) FROM message WHERE user_id IS NOT NULL GROUP BY 1, 2;
        INSERT INTO rollup.org_user_day (org_id, day, user_id, calls, credits)
        SELECT org_id, finished_at::date, user_id, count(*), sum(credits) FROM message
        WHERE org_id IS NOT NULL AND user_id IS NOT NULL AND NOT byok GROUP BY 1, 2, 3;
        """;

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP SCHEMA rollup CASCADE;");
}
