using System.Threading.Channels;
using Codebuff.Server.Chat;

namespace Codebuff.Server.AgentRuns;

/// <summary>Section "Codebuff:Traces": what a trace keeps of each LLM call beyond the billing facts, and for how long.</summary>
public sealed class TraceOptions
{
    /// <summary>Days a step's stored content (service.trace_step) is kept; older rows are swept.</summary>
    public int RetentionDays { get; set; } = 30;

    /// <summary>Characters of text kept per step: new messages first, then tool-call arguments, then the system prompt.</summary>
    public int MaxStepChars { get; set; } = 64 * 1024;
}

public sealed record TraceMessage(string Role, string Content, [property: JsonPropertyName("tool_call_id")] string? ToolCallId = null);

public sealed record TraceToolCall(string? Id, string? Name, string Arguments);

/// <summary>
/// What a trace shows of one LLM call that the seed's message row does not hold (migration TraceSteps): the messages new
/// in its request (those after the last answer: the user's prompt, tool results), the system prompt, the answer's tool
/// calls, and the run's prompt and project. Billing facts (tokens, credits, time) and the answer's text stay in the
/// message row.
/// </summary>
public sealed record TraceStep(Guid CallId, string MessageId, string UserId, string RunId, DateTime CreatedAt, string? Prompt,
    string? Project, string? SystemPrompt, IReadOnlyList<TraceMessage> Messages, IReadOnlyList<TraceToolCall> ToolCalls, bool Truncated)
{
    public const int PromptChars = 1000;
    public const int ProjectChars = 300;
    public const string Cut = "…[truncated]";

    public static TraceStep From(CompletionAccumulator state, DateTime now, int maxChars)
    {
        var all = (state.Request?["messages"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var lastAnswer = all.FindLastIndex(m => Role(m) == "assistant");
        var budget = new Budget(maxChars);
        var messages = all.Skip(lastAnswer + 1).Where(m => !IsSystem(m))
            .Select(m => new TraceMessage(Role(m), budget.Take(Text(m["content"]))!, Str(m["tool_call_id"]))).ToList();
        var toolCalls = state.ToolCalls.Select(c => new TraceToolCall(c.Id, c.Name, budget.Take(c.Arguments)!)).ToList();
        var system = all.Where(IsSystem).Select(m => Text(m["content"])).ToList();
        var systemPrompt = budget.Take(system.Count == 0 ? null : string.Join("\n\n", system));
        var prompt = all.LastOrDefault(m => Role(m) == "user") is { } user ? Text(user["content"]) : null;
        var metadata = state.Request?["codebuff_metadata"];
        var project = Str(metadata?["repo_url"]) is { Length: > 0 } repo ? repo : Str(metadata?["project_name"]);
        var call = state.Call;
        return new TraceStep(state.CallId, state.ClientId, call.UserId, call.RunId, now, Shorten(prompt, PromptChars), Shorten(project, ProjectChars),
            systemPrompt, messages, toolCalls, budget.Truncated);
    }

    static string Role(JsonObject m) => Str(m["role"]) ?? "";
    static bool IsSystem(JsonObject m) => Role(m) is "system" or "developer";
    static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    static string? Shorten(string? s, int max) => s is null || s.Length <= max ? s : s[..max] + Cut;

    /// <summary>A message's content as text: a string, or its parts' texts (an image or other part named, not copied).</summary>
    static string Text(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Join("\n", parts.Select(p => Str(p?["text"]) ?? $"[{Str(p?["type"]) ?? "part"}]")),
        null => "",
        _ => content.ToJsonString(),
    };

    /// <summary>The characters a step may still keep; text past them is cut and marked.</summary>
    sealed class Budget(int chars)
    {
        public bool Truncated { get; private set; }

        public string? Take(string? text)
        {
            if (text is null || text.Length <= chars)
            {
                chars -= text?.Length ?? 0;
                return text;
            }
            Truncated = true;
            var kept = text[..Math.Max(chars, 0)] + Cut;
            chars = 0;
            return kept;
        }
    }

    /// <summary>Deletes steps older than the retention period, and their messages' content, a batch at a time; the number deleted.</summary>
    public static async Task<int> SweepAsync(AppDbContext db, DateTimeOffset now, TraceOptions options, CancellationToken ct)
    {
        var cutoff = now - TimeSpan.FromDays(options.RetentionDays);
        var total = 0;
        int deleted;
        do
        {
            // The step's message keeps its billing facts but loses its words too, found by primary key (a sweep over
            // message.finished_at would revisit every old row each time).
            // Not composed (ToList, not Single): PostgreSQL allows a data-modifying WITH only at the top level.
            deleted = (await db.Database.SqlQuery<int>($"""
                WITH gone AS (
                    DELETE FROM service.trace_step WHERE call_id IN (SELECT call_id FROM service.trace_step WHERE created_at < {cutoff} LIMIT 5000)
                    RETURNING message_id, user_id),
                erased AS (
                    UPDATE message m SET request = NULL, reasoning_text = NULL, response = '""'::jsonb FROM gone WHERE m.id = gone.message_id AND m.user_id = gone.user_id)
                SELECT count(*)::int AS "Value" FROM gone
                """).ToListAsync(ct)).Single();
            total += deleted;
        } while (deleted == 5000);
        return total;
    }
}

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
