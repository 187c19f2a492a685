using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Codebuff.Server.Data.Migrations;

/// <summary>
/// What a trace shows of each LLM call beyond the seed's message row (AgentRuns/TraceSteps.cs): the seed's
/// <c>message.request</c> holds the whole request of every call (each call resends the conversation, so it grows with
/// the square of a run's length) and is written in the charge statement; this table holds, per call, only what is new
/// in it (the messages after the last answer, the system prompt), the answer's tool calls, the run's prompt and
/// project — capped, written after the charge by its own writer, and swept after the retention period. Keyed by the
/// call; <c>message_id</c> is the id the client saw, which its agent_step names. Not part of the EF model.
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20261207013700_TraceSteps")]
public sealed class TraceSteps : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("""
        CREATE SCHEMA IF NOT EXISTS service;
        CREATE TABLE service.trace_step (
            call_id uuid PRIMARY KEY,
            message_id text NOT NULL,
            user_id text NOT NULL,
            run_id text NOT NULL,
            created_at timestamp with time zone NOT NULL,
            prompt text,
            project text,
            system_prompt text,
            messages jsonb NOT NULL,
            tool_calls jsonb NOT NULL,
            truncated boolean NOT NULL
        );
        CREATE INDEX trace_step_message_id ON service.trace_step (message_id);
        CREATE INDEX trace_step_run_id ON service.trace_step (run_id, created_at);
        CREATE INDEX trace_step_user_id ON service.trace_step (user_id);
        CREATE INDEX trace_step_created_at ON service.trace_step (created_at);
        """);

    protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.Sql("DROP TABLE service.trace_step;");
}
