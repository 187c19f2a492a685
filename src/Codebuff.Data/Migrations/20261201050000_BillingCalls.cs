using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Our own table, in its own schema so that the seed's 20 tables in public stay exactly as they are. One row per
/// billed call: our call id (the idempotency key of retries and journal replays), the message row it wrote, and the
/// provider's id for the answer (which differs from the message id when the provider reused an id or sent none).
/// Only Ledger/ChargeSql.cs reads or writes it; it is not part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261201050000_BillingCalls")]
public sealed class BillingCalls : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS billing;
        CREATE TABLE billing.message_call (
            call_id uuid PRIMARY KEY,
            message_id text NOT NULL,
            provider_message_id text,
            created_at timestamp with time zone NOT NULL DEFAULT now()
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP SCHEMA billing CASCADE;");
}
