using NpgsqlTypes;

namespace Codebuff.Server.Orgs;

/// <summary>
/// An org's spend per member over a billing cycle and its latest billed calls, for GET /api/orgs/{orgId}/usage and the
/// dashboard. Spend comes from rollup.org_user_day (written by ChargeSql with the message rows: exact) for the cycle's
/// whole UTC days, plus the message rows of its partial first and last days (a Stripe period starts mid-day) over
/// message_org_id_finished_at_idx; so it equals Σ credits of the org's non-BYOK messages in the cycle without a scan.
/// </summary>
public static class OrgUsageQueries
{
    public sealed class MemberSpend
    {
        public required string UserId { get; init; }
        public long Credits { get; init; }
        public string? Name { get; init; }
        public string? Email { get; init; }
    }

    public sealed class RecentCall
    {
        public DateTime FinishedAt { get; init; }
        public int Credits { get; init; }
        public string? RepoUrl { get; init; }
        public string? Name { get; init; }
    }

    /// <summary>The CTE <c>spend</c>: (user_id, credits) rows that sum to each member's spend in [@start, @end).</summary>
    const string SpendCtes = """
        bounds AS (
            SELECT @start AS s, @end AS e,
                   CASE WHEN @start = date_trunc('day', @start) THEN @start ELSE date_trunc('day', @start) + interval '1 day' END AS s1,
                   date_trunc('day', @end) AS e1
        ), spend AS (
            SELECT r.user_id, r.credits FROM rollup.org_user_day r, bounds b
            WHERE r.org_id = @org AND b.s1 < b.e1 AND r.day >= b.s1::date AND r.day < b.e1::date
            UNION ALL
            SELECT m.user_id, m.credits FROM message m, bounds b
            WHERE m.org_id = @org AND NOT m.byok AND m.user_id IS NOT NULL AND m.finished_at >= b.s
              AND m.finished_at < CASE WHEN b.s1 < b.e1 THEN b.s1 ELSE b.e END
            UNION ALL
            SELECT m.user_id, m.credits FROM message m, bounds b
            WHERE m.org_id = @org AND NOT m.byok AND m.user_id IS NOT NULL AND b.s1 < b.e1 AND m.finished_at >= b.e1 AND m.finished_at < b.e
        )
        """;

    internal const string SpendSql = $"""
        WITH {SpendCtes}, per_user AS (
            SELECT user_id, sum(credits)::bigint AS credits FROM spend GROUP BY user_id
        )
        SELECT p.user_id AS "UserId", p.credits AS "Credits", u.name AS "Name", u.email AS "Email"
        FROM per_user p LEFT JOIN "user" u ON u.id = p.user_id
        ORDER BY p.credits DESC, p.user_id
        """;

    internal const string TotalSpendSql = $"""
        WITH {SpendCtes}
        SELECT coalesce(sum(credits), 0)::bigint AS "Value" FROM spend
        """;

    /// <summary>The org's spend in [start, end): what its credit_limit is checked against.</summary>
    public static Task<long> TotalSpendAsync(AppDbContext db, string orgId, DateTime start, DateTime end, CancellationToken ct) =>
        db.Database.SqlQueryRaw<long>(TotalSpendSql, SpendParameters(orgId, start, end)).SingleAsync(ct);

    /// <summary>Every member's spend in [start, end), largest first (ties by user id).</summary>
    public static Task<List<MemberSpend>> SpendByMemberAsync(AppDbContext db, string orgId, DateTime start, DateTime end, CancellationToken ct) =>
        db.Database.SqlQueryRaw<MemberSpend>(SpendSql, SpendParameters(orgId, start, end)).ToListAsync(ct);

    internal static NpgsqlParameter[] SpendParameters(string orgId, DateTime start, DateTime end) =>
    [
        new("org", orgId),
        // message.finished_at is a timestamp without time zone holding UTC.
        new("start", NpgsqlDbType.Timestamp) { Value = DateTime.SpecifyKind(start, DateTimeKind.Unspecified) },
        new("end", NpgsqlDbType.Timestamp) { Value = DateTime.SpecifyKind(end, DateTimeKind.Unspecified) },
    ];

    /// <summary>The latest <paramref name="count"/> billed calls in the cycle, newest first.</summary>
    public static Task<List<RecentCall>> RecentAsync(AppDbContext db, IQueryable<Message> cycleMessages, int count, CancellationToken ct) =>
        cycleMessages.OrderByDescending(m => m.FinishedAt).ThenBy(m => m.Id).Take(count)
            .Select(m => new RecentCall { FinishedAt = m.FinishedAt, Credits = m.Credits, RepoUrl = m.RepoUrl, Name = db.Users.Where(u => u.Id == m.UserId).Select(u => u.Name).FirstOrDefault() })
            .ToListAsync(ct);
}
