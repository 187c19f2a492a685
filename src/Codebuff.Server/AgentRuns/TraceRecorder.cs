using System.Threading.Channels;
using Codebuff.Server.Chat;

namespace Codebuff.Server.AgentRuns;

/// <summary>
/// Writes trace steps after their call is answered and charged, from a bounded queue on its own connection: a trace
/// is never part of the charge (its journal or its transaction), and a slow or failing write never delays or fails a
/// call. When the queue is full or a write fails the step's content is not kept; its billing facts are.
/// </summary>
public sealed class TraceRecorder(IServiceScopeFactory scopes, IOptions<TraceOptions> options, TimeProvider clock, ILogger<TraceRecorder> log)
    : BackgroundService
{
    const int MaxBatch = 256;

    readonly Channel<TraceStep> _steps = Channel.CreateBounded<TraceStep>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Record(CompletionAccumulator state)
    {
        if (state.Request is null) return;
        try
        {
            _steps.Writer.TryWrite(TraceStep.From(state, clock.GetUtcNow().UtcDateTime, options.Value.MaxStepChars));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            log.LogWarning("trace step of call {CallId} not recorded: {Message}", state.CallId, e.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _steps.Reader.WaitToReadAsync(stoppingToken))
            {
                var batch = new List<TraceStep>();
                while (batch.Count < MaxBatch && _steps.Reader.TryRead(out var step)) batch.Add(step);
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                try
                {
                    // One transaction per batch, and its commit does not wait for the disk: trace content is best
                    // effort (dropped when the queue is full), and a commit per step cost the proxy a WAL flush per call.
                    await using var tx = await db.Database.BeginTransactionAsync(stoppingToken);
                    await db.Database.ExecuteSqlRawAsync("SET LOCAL synchronous_commit = off", stoppingToken);
                    foreach (var step in batch) await InsertAsync(db, step, stoppingToken);
                    await tx.CommitAsync(stoppingToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    log.LogWarning("{Count} trace steps not recorded (first call {CallId}): {Message}", batch.Count, batch[0].CallId, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    static Task<int> InsertAsync(AppDbContext db, TraceStep s, CancellationToken ct)
    {
        var messages = JsonSerializer.Serialize(s.Messages, JsonOptions);
        var toolCalls = JsonSerializer.Serialize(s.ToolCalls, JsonOptions);
        var at = new DateTimeOffset(s.CreatedAt, TimeSpan.Zero);
        // Only for a user who has not deleted the account: the key-share lock waits for a deletion in progress (which
        // holds the row FOR UPDATE and erases trace rows) and then sees its tombstone, so no content outlives it.
        var tombstone = AccountDeletion.TombstoneEmail(s.UserId);
        return db.Database.ExecuteSqlAsync($"""
            INSERT INTO service.trace_step (call_id, message_id, user_id, run_id, created_at, prompt, project, system_prompt, messages, tool_calls, truncated)
            SELECT {s.CallId}, {s.MessageId}, u.id, {s.RunId}, {at}, {s.Prompt}, {s.Project}, {s.SystemPrompt}, {messages}::jsonb, {toolCalls}::jsonb, {s.Truncated}
            FROM "user" u WHERE u.id = {s.UserId} AND u.email <> {tombstone} FOR KEY SHARE
            ON CONFLICT (call_id) DO NOTHING
            """, ct);
    }

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
