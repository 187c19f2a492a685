namespace Codebuff.Server.Agents;

/// <summary>
/// The store (GET /api/agents) and its metrics (GET /api/agents/metrics) served from memory: a snapshot of the latest
/// version of every published agent with its usage, built from agent_config and the store rollups (rollup.agent_day,
/// rollup.agent_user: exact, kept by FINISH), never from agent_run. A request finding the snapshot older than
/// Codebuff:Reads:StoreMaxAgeSeconds (default 30) is answered from it while one rebuild runs in the background, so
/// the store is at most that plus one rebuild stale, and anonymous traffic costs the database one rebuild per period
/// whatever its rate. Weekly figures count whole UTC days: runs started on or after the day 7 days ago.
/// </summary>
public sealed class StoreSnapshot(IServiceScopeFactory scopes, TimeProvider clock, IConfiguration config)
{
    readonly TimeSpan maxAge = TimeSpan.FromSeconds(config.GetValue("Codebuff:Reads:StoreMaxAgeSeconds", 30.0));
    readonly SemaphoreSlim building = new(1, 1);
    volatile Snapshot? current;

    /// <summary>One store entry with the lower-cased texts a search matches.</summary>
    public sealed record Entry(StoreListing.StoreAgent Agent, string PublisherId, string[] SearchTexts, decimal Runs, decimal WeeklyCredits);

    public sealed record Snapshot(DateTimeOffset BuiltAt, IReadOnlyList<Entry> Entries, IReadOnlyDictionary<string, StoreMetrics.AgentMetrics> Metrics);

    public async ValueTask<Snapshot> GetAsync(CancellationToken ct)
    {
        var snapshot = current;
        if (snapshot is not null && clock.GetUtcNow() - snapshot.BuiltAt < maxAge) return snapshot;
        if (snapshot is null || maxAge <= TimeSpan.Zero) return await RebuildAsync(snapshot, ct);
        // Stale: answer from it and let one background rebuild replace it (a failed rebuild is retried by a later request).
        if (building.CurrentCount > 0) _ = Task.Run(() => RebuildAsync(snapshot, CancellationToken.None), CancellationToken.None);
        return snapshot;
    }

    async Task<Snapshot> RebuildAsync(Snapshot? seen, CancellationToken ct)
    {
        await building.WaitAsync(ct);
        try
        {
            // Someone else rebuilt while this one waited.
            if (current is { } fresh && !ReferenceEquals(fresh, seen) && maxAge > TimeSpan.Zero) return fresh;
            return current = await BuildAsync(ct);
        }
        finally { building.Release(); }
    }

    const string UsageSql = """
        WITH days AS (
            SELECT publisher_id, agent_name, sum(runs) AS runs, sum(credits) AS credits,
                   coalesce(sum(runs) FILTER (WHERE day >= @week), 0) AS weekly_runs,
                   coalesce(sum(credits) FILTER (WHERE day >= @week), 0) AS weekly_credits, max(last_used) AS last_used
            FROM rollup.agent_day GROUP BY publisher_id, agent_name
        ), users AS (
            SELECT publisher_id, agent_name, count(*) AS users FROM rollup.agent_user GROUP BY publisher_id, agent_name
        )
        SELECT d.publisher_id AS "PublisherId", d.agent_name AS "AgentName", d.runs::int AS "Runs", d.credits AS "Credits",
               d.weekly_runs::int AS "WeeklyRuns", d.weekly_credits AS "WeeklyCredits", coalesce(u.users, 0)::int AS "UniqueUsers",
               d.last_used AS "LastUsed"
        FROM days d LEFT JOIN users u USING (publisher_id, agent_name)
        """;

    const string LatestSql = $"""
        SELECT DISTINCT ON (ac.publisher_id, ac.id) ac.id AS "Id", ac.version AS "Version", ac.data::text AS "Data",
               ac.created_at AS "CreatedAt", p.id AS "PublisherId", p.name AS "PublisherName", p.verified AS "Verified",
               p.avatar_url AS "AvatarUrl"
        FROM agent_config ac JOIN publisher p ON p.id = ac.publisher_id
        ORDER BY ac.publisher_id, ac.id, {AgentVersion.NewestFirstSql}
        """;

    sealed class UsageRow
    {
        public required string PublisherId { get; init; }
        public required string AgentName { get; init; }
        public int Runs { get; init; }
        public decimal Credits { get; init; }
        public int WeeklyRuns { get; init; }
        public decimal WeeklyCredits { get; init; }
        public int UniqueUsers { get; init; }
        public DateTime? LastUsed { get; init; }

        /// <summary>The wire figures of this usage (spend in dollars), shared by the store entry and the metrics.</summary>
        public StoreMetrics.AgentMetrics Metrics() => new(Runs, WeeklyRuns, Money.Dollars(WeeklyCredits), Money.Dollars(Credits),
            Runs == 0 ? 0 : Money.Dollars(Credits / Runs), UniqueUsers, LastUsed);
    }

    sealed record LatestRow(string Id, string Version, string Data, DateTime CreatedAt, string PublisherId, string PublisherName, bool Verified,
        string? AvatarUrl);

    async Task<Snapshot> BuildAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredKeyedService<AppDbContext>(AppDbContext.ReadOnly);
        var week = DateOnly.FromDateTime(now.UtcDateTime.AddDays(-7));
        var usage = await db.Database.SqlQueryRaw<UsageRow>(UsageSql, new NpgsqlParameter("week", week)).ToListAsync(ct);
        var latest = await db.Database.SqlQueryRaw<LatestRow>(LatestSql).ToListAsync(ct);

        var byAgent = usage.ToDictionary(u => (u.PublisherId, u.AgentName));
        var entries = latest.Select(r =>
        {
            var u = byAgent.GetValueOrDefault((r.PublisherId, r.Id)) ?? new UsageRow { PublisherId = r.PublisherId, AgentName = r.Id };
            var data = JsonNode.Parse(r.Data) as JsonObject;
            var agent = new StoreListing.StoreAgent(u.Metrics())
            {
                Id = r.Id, Name = (string?)data?["name"] ?? r.Id, DisplayName = (string?)data?["displayName"],
                Description = (string?)data?["description"] ?? (string?)data?["spawnerPrompt"],
                Publisher = new StoreListing.StorePublisher(r.PublisherId, r.PublisherName, r.Verified, r.AvatarUrl), Version = r.Version, CreatedAt = r.CreatedAt,
                TotalCredits = Money.Plain(u.Credits), WeeklyCredits = Money.Plain(u.WeeklyCredits), Tags = data?["tags"] as JsonArray ?? [],
            };
            string?[] texts = [r.Id, (string?)data?["name"], (string?)data?["displayName"], (string?)data?["description"], (string?)data?["spawnerPrompt"],
                r.PublisherId, r.PublisherName];
            var tags = agent.Tags.OfType<JsonValue>().Where(t => t.GetValueKind() == JsonValueKind.String).Select(t => t.GetValue<string>());
            return new Entry(agent, r.PublisherId, texts.OfType<string>().Concat(tags).ToArray(), u.Runs, u.WeeklyCredits);
        }).ToList();
        var metrics = usage.ToDictionary(r => $"{r.PublisherId}/{r.AgentName}", r => r.Metrics());
        return new Snapshot(now, entries, metrics);
    }
}
