using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Our own tables for card charges and disputes (schema payments, outside the seed; read and written with SQL by
/// Payments/AutoTopUpCharges.cs and Payments/DisputeClawbacks.cs).
/// auto_topup_charge: every automatic charge tried, written before Stripe is called: the per-owner daily cap counts
/// these rows (shared by every instance), and the billing pages list them.
/// dispute_clawback: the purchase a dispute took back (what was unspent and spent, the grant's expiry before) and
/// whether a won dispute restored it.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207004100_CardCharges")]
public sealed class CardCharges : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS payments;
        CREATE TABLE payments.auto_topup_charge (
            operation_id text PRIMARY KEY,
            owner text NOT NULL,
            credits integer NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            detail text,
            created_at timestamp with time zone NOT NULL DEFAULT now()
        );
        CREATE INDEX auto_topup_charge_owner ON payments.auto_topup_charge (owner, created_at);
        CREATE TABLE payments.dispute_clawback (
            dispute_id text PRIMARY KEY,
            operation_id text NOT NULL,
            owner text NOT NULL,
            principal integer NOT NULL,
            unspent integer NOT NULL,
            expires_at timestamp with time zone,
            status text NOT NULL,
            created_at timestamp with time zone NOT NULL DEFAULT now(),
            closed_at timestamp with time zone
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        DROP TABLE payments.dispute_clawback;
        DROP TABLE payments.auto_topup_charge;
        """);
}
