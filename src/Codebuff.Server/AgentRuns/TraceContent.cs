namespace Codebuff.Server.AgentRuns;

/// <summary>
/// The content a trace shows (what was sent, what came back), as opposed to the billing facts beside it (tokens,
/// credits, cost, time), which stay.
/// </summary>
public static class TraceContent
{
    /// <summary>Forgets the user's stored trace content: the message rows keep their facts, not the words.</summary>
    public static async Task ForgetUserAsync(AppDbContext db, string userId, CancellationToken ct)
    {
        await db.Database.ExecuteSqlAsync($"""
            UPDATE message SET request = NULL, reasoning_text = NULL, response = '""'::jsonb
            WHERE user_id = {userId} AND (request IS NOT NULL OR reasoning_text IS NOT NULL OR response <> '""'::jsonb)
            """, ct);
        await db.Database.ExecuteSqlAsync($"DELETE FROM service.trace_step WHERE user_id = {userId}", ct);
    }
}
