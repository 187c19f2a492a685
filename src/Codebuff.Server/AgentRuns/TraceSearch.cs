using NpgsqlTypes;

namespace Codebuff.Server.AgentRuns;

/// <summary>
/// The site admins' trace search (clients.md §1.8): billed LLM calls by client request id or client id, across users.
/// A client request id is the agent run the call was billed under (codebuff_metadata.run_id), so it is found through
/// the run's primary key and then its owner's messages (message_user_id_idx). A client id has no index in the seed
/// schema: it is looked for among the last <see cref="ClientIdDays"/> days of calls (message_finished_at_user_id_idx).
/// </summary>
public static class TraceSearch
{
    public const int ClientIdDays = 7;
    public const int Limit = 100;

    public sealed class Hit
    {
        [JsonPropertyName("message_id")] public required string MessageId { get; init; }
        [JsonPropertyName("finished_at")] public DateTime FinishedAt { get; init; }
        [JsonPropertyName("client_id")] public string? ClientId { get; init; }
        [JsonPropertyName("client_request_id")] public string? ClientRequestId { get; init; }
        public required string Model { get; init; }
        public int Credits { get; init; }
        [JsonPropertyName("user_id")] public string? UserId { get; init; }
        [JsonPropertyName("user_email")] public string? UserEmail { get; init; }
        /// <summary>The agent run the call was billed under, when it still exists (the trace to open).</summary>
        [JsonPropertyName("run_id")] public string? RunId { get; init; }
    }

    public sealed record Run(string Id, string AgentId, string? UserId, string? UserEmail, AgentRunStatus Status, DateTime CreatedAt);

    /// <summary>The run named by the search (if any), then the matching calls, newest first.</summary>
    public sealed record Result(Run? Run, IReadOnlyList<Hit> Messages);

    const string HitColumns = """
        m.id AS "MessageId", m.finished_at AS "FinishedAt", m.client_id AS "ClientId", m.client_request_id AS "ClientRequestId",
        m.model AS "Model", m.credits AS "Credits", m.user_id AS "UserId", u.email AS "UserEmail", r.id AS "RunId"
        FROM message m LEFT JOIN "user" u ON u.id = m.user_id LEFT JOIN agent_run r ON r.id = m.client_request_id
        """;

    public static async Task<Result> SearchAsync(AppDbContext db, string search, DateTime now, CancellationToken ct)
    {
        search = search.Trim();
        var run = await (from r in db.AgentRuns.AsNoTracking()
                         where r.Id == search
                         join u in db.Users on r.UserId equals u.Id into owners
                         from u in owners.DefaultIfEmpty()
                         select new Run(r.Id, r.AgentId, r.UserId, u.Email, r.Status, r.CreatedAt)).FirstOrDefaultAsync(ct);

        var byRequest = run?.UserId is { } owner
            ? await db.Database.SqlQueryRaw<Hit>($"""
                SELECT {HitColumns} WHERE m.user_id = @owner AND m.client_request_id = @q ORDER BY m.finished_at DESC, m.id LIMIT {Limit}
                """, new NpgsqlParameter("owner", owner), new NpgsqlParameter("q", search)).ToListAsync(ct)
            : [];
        var byClient = await db.Database.SqlQueryRaw<Hit>($"""
            SELECT {HitColumns} WHERE m.finished_at >= @since AND m.client_id = @q ORDER BY m.finished_at DESC, m.id LIMIT {Limit}
            """, new NpgsqlParameter("since", NpgsqlDbType.Timestamp) { Value = DateTime.SpecifyKind(now.AddDays(-ClientIdDays), DateTimeKind.Unspecified) },
            new NpgsqlParameter("q", search)).ToListAsync(ct);
        var hits = byRequest.Concat(byClient).DistinctBy(h => h.MessageId).OrderByDescending(h => h.FinishedAt).Take(Limit).ToList();
        return new Result(run, hits);
    }
}
