namespace Codebuff.Server.Billing;

/// <summary>
/// A user's credits per UTC day from rollup.user_day, written by ChargeSql in the statement that inserts the message
/// rows (exact, never behind; every message of the user, personal or billed to an org). Days without usage are 0.
/// The dashboard's usage chart calls <see cref="CreditsPerDayAsync"/>; GET /api/user/usage/daily answers it as JSON.
/// </summary>
public static class UsageQueries
{
    public sealed record DayUsage(DateOnly Date, long Calls, long Credits);

    public static async Task<IReadOnlyList<DayUsage>> CreditsPerDayAsync(AppDbContext db, string userId, DateOnly today, int days, CancellationToken ct)
    {
        var from = today.AddDays(1 - days);
        var rows = await db.Database.SqlQuery<Row>($"""
            SELECT day AS "Day", calls AS "Calls", credits AS "Credits" FROM rollup.user_day
            WHERE user_id = {userId} AND day >= {from} AND day <= {today}
            """).ToDictionaryAsync(r => r.Day, ct);
        return Enumerable.Range(0, days).Select(i => from.AddDays(i))
            .Select(d => rows.TryGetValue(d, out var r) ? new DayUsage(d, r.Calls, r.Credits) : new DayUsage(d, 0, 0)).ToList();
    }

    public sealed record Daily([property: JsonPropertyName("days")] IReadOnlyList<DayUsage> Days);

    sealed class Row
    {
        public DateOnly Day { get; init; }
        public long Calls { get; init; }
        public long Credits { get; init; }
    }
}
