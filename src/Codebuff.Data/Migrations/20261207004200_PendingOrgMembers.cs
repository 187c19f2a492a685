using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Members added directly by an org's admin who have not yet confirmed (Orgs/PendingMembers.cs). They are not in
/// org_member, so until they accept on their dashboard the org neither pays for nor refuses their calls and they see
/// none of its routes. In schema "service" so the seed's public tables stay exact; not part of the EF model. Both
/// foreign keys cascade: a deleted org or user leaves no pending row behind.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207004200_PendingOrgMembers")]
public sealed class PendingOrgMembers : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.org_member_pending (
            org_id text NOT NULL REFERENCES public.org (id) ON DELETE CASCADE,
            user_id text NOT NULL REFERENCES public."user" (id) ON DELETE CASCADE,
            role public.org_role NOT NULL,
            added_by text REFERENCES public."user" (id) ON DELETE SET NULL,
            added_at timestamp with time zone NOT NULL,
            PRIMARY KEY (org_id, user_id)
        );
        CREATE INDEX org_member_pending_user_id ON service.org_member_pending (user_id);
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE service.org_member_pending;");
}
