using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Which configured LLM provider answered a message ("Codebuff:Providers" name), beside the seed's message table,
/// which has no column for it. Written by the charge statement (Ledger/ChargeSql.cs) in the same statement as the
/// message row; goes with its message (ON DELETE CASCADE). Not part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207140000_MessageProviders")]
public sealed class MessageProviders : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.message_provider (
            message_id text PRIMARY KEY REFERENCES public.message (id) ON DELETE CASCADE,
            provider text NOT NULL
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE service.message_provider;");
}
