using Codebuff.Server.Chat;

namespace Codebuff.Server.AgentRuns;

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
