using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Our own tables for Payments/, in their own schema so the seed's 20 tables stay exactly as they are; not part of the
/// EF model (Payments/ reads and writes them with SQL).
/// auto_topup_block: why auto top-up was switched off for an owner ('user:&lt;id&gt;' or 'org:&lt;id&gt;'), shown as
/// auto_topup_blocked_reason until the owner turns it on again.
/// grant_retry: what a grant that failed after the money moved must still write; its sync_failure row (id = operation
/// id) drives the retries.
/// dispute: disputes seen per Stripe customer, so the fifth within 14 days bans (api.md §5.6) and replays count once.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261201060000_PaymentsTables")]
public sealed class PaymentsTables : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS payments;
        CREATE TABLE payments.auto_topup_block (
            owner text PRIMARY KEY,
            reason text NOT NULL,
            blocked_at timestamp with time zone NOT NULL DEFAULT now()
        );
        CREATE TABLE payments.grant_retry (
            operation_id text PRIMARY KEY,
            user_id text NOT NULL,
            org_id text,
            credits integer NOT NULL,
            grant_type text NOT NULL,
            description text NOT NULL
        );
        CREATE TABLE payments.dispute (
            id text PRIMARY KEY,
            customer_id text NOT NULL,
            created_at timestamp with time zone NOT NULL DEFAULT now()
        );
        CREATE INDEX dispute_customer ON payments.dispute (customer_id, created_at);
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP SCHEMA payments CASCADE;");
}
