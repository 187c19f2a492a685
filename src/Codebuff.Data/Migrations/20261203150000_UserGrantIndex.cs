using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// An index of a user's personal grants, kept outside the seed's tables. The seed indexes credit_ledger by org and,
/// partially, by user for never-expiring grants only, so "this user's active grants" — read by the chat gate and by
/// every charge — was a sequential scan of the whole ledger (27 ms per call at 50,000 users and 316,000 grants,
/// growing with every monthly grant). An extra index on credit_ledger would change the seed's public schema, which
/// must stay exact; this table in schema "billing" serves as that index instead: (user_id, operation_id) per personal
/// grant, filled by a trigger on credit_ledger and emptied by its foreign key. Read by Chat/ChatGate.cs and
/// Ledger/ChargeSql.cs only; not part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261203150000_UserGrantIndex")]
public sealed class UserGrantIndex : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS billing;
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE billing.user_grant (
            user_id text NOT NULL,
            operation_id text NOT NULL REFERENCES public.credit_ledger (operation_id) ON UPDATE CASCADE ON DELETE CASCADE,
            PRIMARY KEY (user_id, operation_id)
        );
        CREATE INDEX user_grant_operation_id ON billing.user_grant (operation_id);
        CREATE FUNCTION service.user_grant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN DELETE FROM billing.user_grant WHERE operation_id = NEW.operation_id; END IF;
            IF NEW.org_id IS NULL THEN
                INSERT INTO billing.user_grant (user_id, operation_id) VALUES (NEW.user_id, NEW.operation_id) ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER credit_ledger_user_grant AFTER INSERT OR UPDATE OF user_id, org_id ON credit_ledger
            FOR EACH ROW EXECUTE FUNCTION service.user_grant_changed();
        INSERT INTO billing.user_grant (user_id, operation_id) SELECT user_id, operation_id FROM credit_ledger WHERE org_id IS NULL;
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        DROP TRIGGER credit_ledger_user_grant ON credit_ledger;
        DROP FUNCTION service.user_grant_changed();
        DROP TABLE billing.user_grant;
        """);
}
