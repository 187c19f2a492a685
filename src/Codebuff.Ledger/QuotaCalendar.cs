namespace Codebuff.Ledger;

/// <summary>Amounts of the free grants (api.md §7.3).</summary>
static class FreeCredits
{
    public const int Initial = 500;
    public const int MonthlyCap = 2000;
}

/// <summary>Month arithmetic as upstream's JavaScript does it, so reset dates agree with Codebuff's.</summary>
static class QuotaCalendar
{
    /// <summary>
    /// Date.setMonth(+1) semantics in UTC: the day of month is kept and overflows into the following month when the
    /// target month is shorter (Jan 31 → Mar 3, or Mar 2 in a leap year); the time of day is kept.
    /// </summary>
    public static DateTime AddMonth(DateTime d)
    {
        var firstOfTarget = new DateTime(d.Year, d.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
        return firstOfTarget.AddDays(d.Day - 1).Add(d.TimeOfDay);
    }
}
