namespace Codebuff.Server.Agents;

/// <summary>
/// GET /api/agents: the store — the latest version of every published agent with its usage from completed agent runs,
/// filtered, sorted and paged in memory from <see cref="StoreSnapshot"/> (no database work per request).
/// Query: search (agent id, name, display name, description, tags, publisher id or name), sort (cost = weekly credits, the default as
/// upstream; usage = all-time runs; unique_users; recent|newest; name), limit (1–500, default 100), offset.
/// </summary>
public static class StoreListing
{
    // Each order ends with publisher id, then agent id, so pages are stable.
    static readonly Dictionary<string, Comparison<StoreSnapshot.Entry>> Orders = new(StringComparer.Ordinal)
    {
        ["cost"] = (a, b) => Then(b.WeeklyCredits.CompareTo(a.WeeklyCredits), b.Runs.CompareTo(a.Runs), a, b),
        ["usage"] = (a, b) => Then(b.Runs.CompareTo(a.Runs), b.Agent.WeeklyRuns.CompareTo(a.Agent.WeeklyRuns), a, b),
        ["unique_users"] = (a, b) => Then(b.Agent.UniqueUsers.CompareTo(a.Agent.UniqueUsers), b.Runs.CompareTo(a.Runs), a, b),
        ["recent"] = (a, b) => Then(b.Agent.CreatedAt.CompareTo(a.Agent.CreatedAt), 0, a, b),
        ["newest"] = (a, b) => Then(b.Agent.CreatedAt.CompareTo(a.Agent.CreatedAt), 0, a, b),
        ["name"] = (a, b) => Then(string.CompareOrdinal(a.Agent.Id, b.Agent.Id), 0, a, b),
    };

    static int Then(int first, int second, StoreSnapshot.Entry a, StoreSnapshot.Entry b) =>
        first != 0 ? first : second != 0 ? second :
        string.CompareOrdinal(a.PublisherId, b.PublisherId) is var p and not 0 ? p : string.CompareOrdinal(a.Agent.Id, b.Agent.Id);

    public sealed record StorePublisher(string Id, string Name, bool Verified, [property: JsonPropertyName("avatar_url")] string? AvatarUrl);

    /// <summary>
    /// One store entry: the agent and its publisher, then the usage figures that /api/agents/metrics serves for it
    /// (spend in dollars, 100 credits = $1, as upstream), then its credits as plain numbers and its tags.
    /// </summary>
    public sealed record StoreAgent : StoreMetrics.AgentMetrics
    {
        public StoreAgent(StoreMetrics.AgentMetrics usage) : base(usage) { }

        public required string Id { get; init; }
        public required string Name { get; init; }
        public string? DisplayName { get; init; }
        public string? Description { get; init; }
        public required StorePublisher Publisher { get; init; }
        public required string Version { get; init; }
        [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
        // The serializer writes a derived record's own properties before the inherited usage figures; these follow them.
        [JsonPropertyName("total_credits"), JsonPropertyOrder(1)] public decimal TotalCredits { get; init; }
        [JsonPropertyName("weekly_credits"), JsonPropertyOrder(1)] public decimal WeeklyCredits { get; init; }
        [JsonPropertyOrder(1)] public required JsonArray Tags { get; init; }
    }

    public static async Task<Results<Ok<IEnumerable<StoreAgent>>, ErrorResult>> GetAsync(HttpRequest request, StoreSnapshot store, CancellationToken ct)
    {
        var q = request.Query;
        var sort = q.TryGetValue("sort", out var s) && !string.IsNullOrEmpty(s) ? s.ToString() : "cost";
        if (!Orders.TryGetValue(sort, out var order))
            return Errors.Error(400, $"Invalid sort '{sort}'. Use one of: {string.Join(", ", Orders.Keys)}");
        if (!TryInt(q["limit"], 100, 1, 500, out var limit)) return Errors.Error(400, "limit must be an integer from 1 to 500");
        if (!TryInt(q["offset"], 0, 0, int.MaxValue, out var offset)) return Errors.Error(400, "offset must be a non-negative integer");
        var found = Find(await store.GetAsync(ct), q["search"].ToString(), order);
        return TypedResults.Ok(found.Skip(offset).Take(limit).Select(e => e.Agent));
    }

    /// <summary>The sort orders, the default (cost) first.</summary>
    public static IEnumerable<string> Sorts => Orders.Keys;

    /// <summary>The store entries matching <paramref name="search"/> (agent id, name, description, tags, publisher), in a known <paramref name="sort"/> order.</summary>
    public static List<StoreSnapshot.Entry> Find(StoreSnapshot.Snapshot snapshot, string? search, string sort) => Find(snapshot, search, Orders[sort]);

    static List<StoreSnapshot.Entry> Find(StoreSnapshot.Snapshot snapshot, string? search, Comparison<StoreSnapshot.Entry> order)
    {
        search = search?.Trim() ?? "";
        var matches = (search.Length == 0 ? snapshot.Entries
            : snapshot.Entries.Where(e => e.SearchTexts.Any(t => t.Contains(search, StringComparison.OrdinalIgnoreCase)))).ToList();
        matches.Sort(order);
        return matches;
    }

    static bool TryInt(string? text, int fallback, int min, int max, out int value)
    {
        value = fallback;
        if (string.IsNullOrEmpty(text)) return true;
        return int.TryParse(text, out value) && value >= min && value <= max;
    }
}
