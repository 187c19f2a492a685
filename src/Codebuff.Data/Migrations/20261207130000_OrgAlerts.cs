using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// Org billing and usage alerts and the weekly reports (Orgs/OrgAlerts.cs, Orgs/WeeklyReports.cs), in our own schema.
/// <c>org_alert</c>: one row per event; the partial unique index allows one open (not cleared) row per org, kind and
/// episode (the billing cycle for usage alerts, '' otherwise), so an instance that raises an event already open inserts
/// nothing and sends nothing; clearing the row re-arms it. <c>org_weekly_report</c>: the (org, week) claimed by the
/// instance that sends that report. Not part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207130000_OrgAlerts")]
public sealed class OrgAlerts : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.org_alert (
            id uuid PRIMARY KEY,
            org_id text NOT NULL REFERENCES public.org (id) ON DELETE CASCADE,
            kind text NOT NULL,
            episode text NOT NULL,
            severity text NOT NULL,
            title text NOT NULL,
            message text NOT NULL,
            created_at timestamp with time zone NOT NULL,
            cleared_at timestamp with time zone,
            dismissed_at timestamp with time zone,
            dismissed_by text
        );
        CREATE UNIQUE INDEX org_alert_open ON service.org_alert (org_id, kind, episode) WHERE cleared_at IS NULL;
        CREATE TABLE service.org_weekly_report (
            org_id text NOT NULL REFERENCES public.org (id) ON DELETE CASCADE,
            week_start date NOT NULL,
            claimed_at timestamp with time zone NOT NULL,
            PRIMARY KEY (org_id, week_start)
        );
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE service.org_weekly_report; DROP TABLE service.org_alert;");
}
