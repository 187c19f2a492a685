using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// The name a user gives a personal access token, in our own schema (the seed's session table has no column for it).
/// The row goes with its token (ON DELETE CASCADE). Not part of the EF model: read and written in Auth/UserSessions.cs.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207013500_ApiKeyNames")]
public sealed class ApiKeyNames : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.api_key_name (
            session_token text PRIMARY KEY REFERENCES public.session ("sessionToken") ON DELETE CASCADE,
            name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100)
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE service.api_key_name;");
}
