using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// The ASP.NET Core Data Protection key ring (Auth/DataProtectionKeys.cs), in our own schema: one row per key's XML,
/// shared by every instance on this database so a form served by one is accepted by another and after a redeploy.
/// Rows are only added (Data Protection never deletes or edits a key; expired ones stay to read old payloads).
/// Not part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261208070000_DataProtectionKeys")]
public sealed class DataProtectionKeys : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.data_protection_key (
            id bigserial PRIMARY KEY,
            friendly_name text,
            xml text NOT NULL,
            created_at timestamp with time zone NOT NULL DEFAULT now()
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE service.data_protection_key;");
}
