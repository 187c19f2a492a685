using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// State that belongs to the whole service rather than to one server instance, in our own schema "service" so the
/// seed's 20 tables in public stay exactly as they are. Not part of the EF model: read and written by hand-written SQL
/// in Auth/CliTokenVault.cs, Hosting/SecretFingerprints.cs and Hosting/SharedRateLimits.cs.
/// The rate-limit tables are UNLOGGED: counters need no WAL (no fsync on the hot path) and losing them in a crash
/// only resets everyone's limits.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261201060000_SharedState")]
public sealed class SharedState : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.cli_login_token (
            session_hash text PRIMARY KEY,
            fingerprint_hash text NOT NULL,
            sealed bytea NOT NULL,
            expires_at timestamp with time zone NOT NULL
        );
        CREATE INDEX cli_login_token_expires_at ON service.cli_login_token (expires_at);
        CREATE TABLE service.secret_fingerprint (
            setting text PRIMARY KEY,
            fingerprint text NOT NULL,
            recorded_at timestamp with time zone NOT NULL DEFAULT now()
        );
        CREATE UNLOGGED TABLE service.rate_window (
            key text PRIMARY KEY,
            started_at timestamp with time zone NOT NULL,
            hits integer NOT NULL
        );
        CREATE UNLOGGED TABLE service.rate_bucket (
            key text PRIMARY KEY,
            updated_at timestamp with time zone NOT NULL,
            tokens double precision NOT NULL
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP SCHEMA service CASCADE;");
}
