using NpgsqlTypes;

namespace Codebuff.Ledger;

/// <summary>
/// "An owner's live grants" in SQL, spelled once: the charge statement (<see cref="ChargeSql"/>), the balance the
/// chat gate and the holds read (<see cref="Reservations"/>) and the ledger's EF queries (<see cref="CreditLedger"/>)
/// all build on these pieces. Parameters: @u (the user, text), @org (the organization, text) and @now (timestamptz);
/// a piece names only the ones it needs.
/// </summary>
static class OwnerGrants
{
    /// <summary>A grant that has not expired at @now (api.md §7.7).</summary>
    public const string Unexpired = "(expires_at IS NULL OR expires_at > @now)";

    /// <summary>
    /// The owner's grants, expired ones included. A user's personal grants are found through billing.user_grant
    /// (migration UserGrantIndex): the seed has no index on credit_ledger that finds them, and scanning the whole
    /// ledger on every charge grows with every user's monthly grant. An organization's through the seed's
    /// idx_credit_ledger_org.
    /// </summary>
    public static string Of(LedgerOwner owner) => owner.OrgId is null ? Personal : Org;

    const string Personal = "operation_id IN (SELECT operation_id FROM billing.user_grant WHERE user_id = @u) AND user_id = @u AND org_id IS NULL";
    const string Org = "org_id = @org";

    /// <summary>SELECT <paramref name="columns"/> over the owner's grants unexpired at @now.</summary>
    public static string Live(LedgerOwner owner, string columns) => $"SELECT {columns} FROM credit_ledger WHERE {Unexpired} AND {Of(owner)}";

    /// <summary>
    /// The owner's balance as one row of three ints over live grants: <c>positive</c>, the sum of positive balances,
    /// <c>debt</c>, the sum of negative ones, and <c>remaining</c>, what is left to spend (<see cref="Remaining"/>).
    /// </summary>
    public static string Balance(LedgerOwner owner) => $"""
        SELECT positive, debt, positive - least(positive, debt) AS remaining FROM (
            {Live(owner, "coalesce(sum(balance) FILTER (WHERE balance > 0), 0)::int AS positive, coalesce(sum(-balance) FILTER (WHERE balance < 0), 0)::int AS debt")}
        ) AS sums
        """;

    /// <summary>
    /// Debt is settled against positive balances first (api.md §7.7): what an owner with these sums can spend. The rule
    /// in C#; <see cref="Balance"/>'s <c>remaining</c> column is its one SQL spelling.
    /// </summary>
    public static int Remaining(int positive, int debt) => positive - Math.Min(positive, debt);

    /// <summary>The owner's live grants as an EF query, to compose on.</summary>
    public static IQueryable<CreditGrant> LiveQuery(AppDbContext db, LedgerOwner owner, DateTime now) =>
        db.CreditLedger.FromSqlRaw(Live(owner, "*"), [.. Parameters(owner), Now(now)]);

    /// <summary>The owner's grants, expired ones included, as an EF query.</summary>
    public static IQueryable<CreditGrant> AllQuery(AppDbContext db, LedgerOwner owner) =>
        db.CreditLedger.FromSqlRaw(All(owner), [.. Parameters(owner)]);

    static string All(LedgerOwner owner) => $"SELECT * FROM credit_ledger WHERE {Of(owner)}";

    static IEnumerable<NpgsqlParameter> Parameters(LedgerOwner owner) => owner.OrgId is null
        ? [new NpgsqlParameter<string>("u", NpgsqlDbType.Text) { TypedValue = owner.UserId! }]
        : [new NpgsqlParameter<string>("org", NpgsqlDbType.Text) { TypedValue = owner.OrgId }];

    static NpgsqlParameter Now(DateTime now) =>
        new NpgsqlParameter<DateTime>("now", NpgsqlDbType.TimestampTz) { TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc) };
}
