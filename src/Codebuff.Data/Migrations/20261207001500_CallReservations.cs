using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Credits held by calls in flight (README "Credits held by calls in progress"): one row per call, keyed by the call
/// id its charge carries, so the charge's transaction deletes it (journal replays included) and no owner has a hot
/// row. <c>owner</c> is the ledger owner's lock key ("user:&lt;id&gt;" or "org:&lt;id&gt;"). UNLOGGED: a hold needs no
/// WAL (no fsync on the hot path), and a database crash that empties the table only frees holds that expire within
/// minutes anyway. Read and written by Ledger/Reservations.cs, Chat/ChatGate.cs and Ledger/ChargeSql.cs only; not
/// part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207001500_CallReservations")]
public sealed class CallReservations : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS billing;
        CREATE UNLOGGED TABLE billing.reservation (
            call_id uuid PRIMARY KEY,
            owner text NOT NULL,
            credits integer NOT NULL,
            expires_at timestamp with time zone NOT NULL
        );
        CREATE INDEX reservation_owner ON billing.reservation (owner, expires_at);
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE billing.reservation;");
}
