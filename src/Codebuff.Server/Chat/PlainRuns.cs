using Codebuff.Server.AgentRuns;

namespace Codebuff.Server.Chat;

/// <summary>
/// A plain OpenAI request (no codebuff_metadata) is one agent run of its own, started and finished by the server
/// around the call, so usage pages and traces show it like any SDK call (README "Plain OpenAI requests").
/// </summary>
static class PlainRuns
{
    /// <summary>The agent id of these runs: no free-mode or free-small-agent rule ever applies to it.</summary>
    public const string AgentId = "openai-api";

    public static async Task<string> StartAsync(AppDbContext db, string userId, DateTime now, CancellationToken ct)
    {
        var run = new AgentRun { Id = Guid.NewGuid().ToString(), UserId = userId, AgentId = AgentId, AncestorRunIds = [], Status = AgentRunStatus.Running, CreatedAt = now };
        db.AgentRuns.Add(run);
        await db.SaveChangesAsync(ct);
        db.Entry(run).State = EntityState.Detached;
        return run.Id;
    }

    /// <summary>A refused call's run is removed: a request refused for its rate limit or credits leaves no run.</summary>
    public static Task DeleteAsync(AppDbContext db, string runId, string userId) =>
        db.AgentRuns.Where(r => r.Id == runId && r.UserId == userId).ExecuteDeleteAsync(CancellationToken.None);

    /// <summary>Completed with the credits billed when the call was charged; failed (nothing billed) otherwise.</summary>
    public static Task FinishAsync(AppDbContext db, string runId, string userId, ProxyCall? call, DateTime now)
    {
        var charged = call?.Charged == true;
        decimal credits = call?.BilledCredits ?? 0;
        return RunFinish.RunAsync(db, runId, userId, charged ? AgentRunStatus.Completed : AgentRunStatus.Failed, now, AgentRunEndpoints.MaxDuration,
            totalSteps: 1, credits, credits, charged ? null : "The call was refused or the model provider failed; nothing was billed.", CancellationToken.None);
    }
}
