using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Every update or delete of a user or a session announces the user's id on channel <c>caller_changed</c> when its
/// transaction commits, so that every server instance drops that user from its caller cache (Auth/CallerCache.cs,
/// Auth/CallerChanges.cs): a revoked key, a logout or a ban takes effect everywhere within a notification's delay.
/// The functions live in our schema "service"; the seed's tables only gain the triggers.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261203120000_CallerChangedNotify")]
public sealed class CallerChangedNotify : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE FUNCTION service.user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('caller_changed', OLD.id);
            IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN PERFORM pg_notify('caller_changed', NEW.id); END IF;
            RETURN NULL;
        END $$;
        CREATE FUNCTION service.session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('caller_changed', OLD."userId");
            IF TG_OP = 'UPDATE' AND NEW."userId" <> OLD."userId" THEN PERFORM pg_notify('caller_changed', NEW."userId"); END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER user_caller_changed AFTER UPDATE OR DELETE ON "user" FOR EACH ROW EXECUTE FUNCTION service.user_changed();
        CREATE TRIGGER session_caller_changed AFTER UPDATE OR DELETE ON session FOR EACH ROW EXECUTE FUNCTION service.session_changed();
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        DROP TRIGGER user_caller_changed ON "user";
        DROP TRIGGER session_caller_changed ON session;
        DROP FUNCTION service.user_changed();
        DROP FUNCTION service.session_changed();
        """);
}
