using System.Globalization;
using NpgsqlTypes;

namespace Codebuff.Server.AgentRuns;

/// <summary>Agent-run tracking the SDK reports to (api.md §2.3–2.4): START, FINISH and one row per step.</summary>
public static class AgentRunEndpoints
{
    // numeric(10,6): anything larger would fail in the database instead of as a clear 400.
    const decimal MaxCredits = 9999.999999m;

    // The longest duration_ms (integer milliseconds) can hold, rounded down to whole seconds.
    internal static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(int.MaxValue / 1000);

    /// <summary>
    /// [our choice] An unknown key gets 401, not upstream's 404 (api.md §2.3, §8.2): the SDK acceptance harness requires
    /// 401/403 from these routes, and 404 would read as "no such run". The body keeps upstream's wording.
    /// </summary>
    public static void MapAgentRunWrites(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/v1/agent-runs").RequireCaller(CallerAuthentication.ApiKey, Unauthenticated.ApiV1).RefuseSuspended();
        runs.MapPost("", PostRun).Takes<RunRequest>().Answers<RunAnswer>().RefusesWith<ErrorDetailsBody>(400).Refuses(409, 500);
        runs.MapPost("/{runId}/steps", PostStep).Takes<StepRequest>().Answers<StepAdded>().RefusesWith<ErrorDetailsBody>(400).Refuses(403, 404, 409, 500);
    }

    /// <summary>START names agentId (and ancestorRunIds); FINISH names runId, status, totalSteps, directCredits, totalCredits.</summary>
    public sealed record RunRequest(string Action, string? AgentId, string[]? AncestorRunIds, string? RunId, string? Status, int? TotalSteps,
        decimal? DirectCredits, decimal? TotalCredits, string? ErrorMessage);
    /// <summary>START answers the new runId; FINISH answers success.</summary>
    public sealed record RunAnswer([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RunId, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Success);
    public sealed record StepRequest(int StepNumber, decimal? Credits, string[]? ChildRunIds, string? MessageId, string? Status, string? ErrorMessage,
        DateTimeOffset? StartTime);
    public sealed record StepAdded(string StepId);

    static async Task<Results<Ok<RunAnswer>, ErrorResult, DetailsResult>> PostRun(HttpRequest request, Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var user = caller.Required;
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJson();

        var errors = new BodyErrors();
        var action = errors.Enum(body, "action", true, "START", "FINISH");
        if (action is null) return errors.ToResult();
        return action == "START"
            ? await StartAsync(body, errors, user, db, clock, ct)
            : await FinishAsync(body, errors, user, db, clock, ct);
    }

    static async Task<Results<Ok<RunAnswer>, ErrorResult, DetailsResult>> StartAsync(JsonObject body, BodyErrors errors, User user, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var agentId = errors.String(body, "agentId", required: true);
        var ancestors = errors.StringArray(body, "ancestorRunIds");
        if (errors.Any) return errors.ToResult();
        // [our choice, api.md §2.3] ancestors need not exist, but a run of another user is refused: nobody may graft
        // runs into someone else's trace tree. Unknown and foreign ids are not told apart beyond this.
        if (ancestors is { Length: > 0 })
        {
            var foreign = await db.AgentRuns.Where(r => ancestors.Contains(r.Id) && r.UserId != user.Id).Select(r => r.Id).ToListAsync(ct);
            for (var i = 0; i < ancestors.Length; i++)
                if (foreign.Contains(ancestors[i])) errors.Add("Not an agent run of yours", "ancestorRunIds", i.ToString());
            if (errors.Any) return errors.ToResult();
        }

        var run = new AgentRun
        {
            Id = Guid.NewGuid().ToString(), UserId = user.Id, AgentId = agentId!, AncestorRunIds = ancestors ?? [],
            Status = AgentRunStatus.Running, CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.AgentRuns.Add(run);
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException e) when (!DatabaseUnavailable.Is(e)) { return Errors.Error(500, "Failed to create agent run"); }
        return TypedResults.Ok(new RunAnswer(run.Id, null));
    }

    static async Task<Results<Ok<RunAnswer>, ErrorResult, DetailsResult>> FinishAsync(JsonObject body, BodyErrors errors, User user, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var runId = errors.String(body, "runId", required: true);
        var status = errors.Enum(body, "status", true, "completed", "failed", "cancelled");
        var totalSteps = errors.Number(body, "totalSteps", true, 0, int.MaxValue, integer: true);
        var direct = errors.Number(body, "directCredits", true, 0, MaxCredits);
        var total = errors.Number(body, "totalCredits", true, 0, MaxCredits);
        var errorMessage = errors.String(body, "errorMessage", required: false);
        if (errors.Any) return errors.ToResult();

        var now = clock.GetUtcNow().UtcDateTime;
        // [our choice] duration_ms is a generated integer column: a run finished more than 2^31 ms (~24.8 days) after
        // it started would overflow it. Such a run still finishes, with completed_at capped at its start plus that span.
        var newStatus = Enum.Parse<AgentRunStatus>(status!, ignoreCase: true);
        int updated;
        try { updated = await RunFinish.RunAsync(db, runId!, user.Id, newStatus, now, MaxDuration, (int)totalSteps!.Value, direct, total, errorMessage, ct); }
        catch (NpgsqlException e) when (!DatabaseUnavailable.Is(e)) { return Errors.Error(500, "Failed to finish agent run"); }
        if (updated == 1) return TypedResults.Ok(new RunAnswer(null, true));

        var run = await db.AgentRuns.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.UserId, r.Status }).FirstOrDefaultAsync(ct);
        // [our choice, api.md §2.3] someone else's run or no run at all: nothing is written, but the answer stays the
        // upstream-compatible {"success":true} (the SDK ignores it; revealing which run ids exist would leak).
        if (run is null || run.UserId != user.Id) return TypedResults.Ok(new RunAnswer(null, true));
        return Errors.Error(409, $"Agent run is already finished (status {Label(run.Status)})");
    }

    static async Task<Results<Ok<StepAdded>, ErrorResult, DetailsResult>> PostStep(string runId, HttpRequest request, Caller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var user = caller.Required;
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJson();

        var errors = new BodyErrors();
        var stepNumber = errors.Number(body, "stepNumber", true, 0, int.MaxValue, integer: true);
        var credits = errors.Number(body, "credits", false, 0, MaxCredits) ?? 0;
        var children = errors.StringArray(body, "childRunIds");
        var messageId = errors.String(body, "messageId", required: false);
        var status = errors.Enum(body, "status", false, "running", "completed", "skipped") ?? "completed";
        var errorMessage = errors.String(body, "errorMessage", required: false);
        var startTimeText = errors.String(body, "startTime", required: false);
        DateTime? startTime = null;
        if (startTimeText is not null)
        {
            // [our choice, api.md §2.4] offsets are accepted as well as "Z".
            var now0 = clock.GetUtcNow().UtcDateTime;
            if (!DateTimeOffset.TryParse(startTimeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) || !startTimeText.Contains('T'))
                errors.Add("Invalid datetime", "startTime");
            // duration_ms is a generated integer column: a start more than ~24 days away would overflow it.
            else if (parsed.UtcDateTime < now0.AddDays(-24) || parsed.UtcDateTime > now0.AddDays(1))
                errors.Add("startTime must lie between 24 days ago and 1 day ahead of the server's clock", "startTime");
            else startTime = parsed.UtcDateTime;
        }
        if (errors.Any) return errors.ToResult();

        var run = await db.AgentRuns.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.UserId, r.Status }).FirstOrDefaultAsync(ct);
        if (run is null) return Errors.Error(404, "Agent run not found");
        if (run.UserId != user.Id) return Errors.Error(403, "Unauthorized to add steps to this run");
        if (run.Status != AgentRunStatus.Running)
            return Errors.Error(409, $"Agent run is not running (status {Label(run.Status)}); steps can only be added to a running run");

        var now = clock.GetUtcNow().UtcDateTime;
        var id = Guid.NewGuid().ToString();
        var stepStatus = status;
        var number = (int)stepNumber!.Value;
        // Typed explicitly: an untyped NULL would not convert to text[].
        var childParam = new NpgsqlParameter("children", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = (object?)children ?? DBNull.Value };
        // [our choice, api.md §2.4] a duplicate step number (e.g. an SDK retry) keeps the first row and answers its id.
        List<string> inserted;
        try
        {
            inserted = await db.Database.SqlQuery<string>($"""
                INSERT INTO agent_step (id, agent_run_id, step_number, credits, child_run_ids, message_id, status, error_message, created_at, completed_at)
                VALUES ({id}, {runId}, {number}, {credits}, {childParam}, {messageId}, {stepStatus}::agent_step_status, {errorMessage}, {startTime ?? now}, {now})
                ON CONFLICT (agent_run_id, step_number) DO NOTHING
                RETURNING id AS "Value"
                """).ToListAsync(ct);
        }
        catch (NpgsqlException e) when (!DatabaseUnavailable.Is(e)) { return Errors.Error(500, "Failed to add agent step"); }
        if (inserted.Count == 1) return TypedResults.Ok(new StepAdded(inserted[0]));
        var existing = await db.AgentSteps.AsNoTracking().Where(s => s.AgentRunId == runId && s.StepNumber == number).Select(s => s.Id).FirstAsync(ct);
        return TypedResults.Ok(new StepAdded(existing));
    }

    static string Label(AgentRunStatus s) => s.ToString().ToLowerInvariant();
}
