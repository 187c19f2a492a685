using Codebuff.Server.Orgs;

namespace Codebuff.Server.Billing;

/// <summary>Referral redemption and a user's referrals, as POST/GET /api/referrals and the profile's referrals tab use them.</summary>
public static class Referrals
{
    /// <summary>Bonus for each side at redemption (Dec 2025 model, the one the 20-table schema matches).</summary>
    public const int CreditsPerSide = 250;

    public sealed record ReferredUser(string Id, string? Name, string Email, int Credits);
    public sealed record Overview(string? ReferralCode, IReadOnlyList<ReferredUser> Referrals, int ReferralLimit, ReferredUser? ReferredBy);
    /// <summary>The owner of a referral code and how many people they have referred so far.</summary>
    public sealed record Referrer(string Id, string? Name, int ReferralLimit, int Count)
    {
        public bool Full => Count >= ReferralLimit;
    }

    /// <summary>Redeems <paramref name="code"/> for <paramref name="userId"/>: both sides get <see cref="CreditsPerSide"/>; null when applied.</summary>
    public static async Task<Refusal?> RedeemAsync(AppDbContext db, CreditLedger ledger, TimeProvider clock, string userId, string code,
        string supportEmail, CancellationToken ct)
    {
        var referrer = await db.Users.AsNoTracking().Where(u => u.ReferralCode == code).Select(u => new { u.Id, u.ReferralLimit }).FirstOrDefaultAsync(ct);
        var owners = referrer is null ? new[] { LedgerOwner.User(userId) } : [LedgerOwner.User(userId), LedgerOwner.User(referrer.Id)];
        // Both users' ledger locks, in a stable order: concurrent redemptions of one code (the referral limit) and
        // by one user (referred once) queue here instead of both passing the checks below.
        await using var tx = await ledger.BeginAsync(owners, ct);

        if (await db.Referrals.AnyAsync(r => r.ReferredId == userId, ct))
            return new(409, "You've already been referred by someone. Each user can only be referred once.");
        if (referrer is null)
            return new(404, $"This referral code doesn't exist! Try again or reach out to {supportEmail} if the problem persists.");
        if (referrer.Id == userId) return new(400, "Nice try bud, you can't use your own referral code.");
        if (await db.Referrals.AnyAsync(r => r.ReferrerId == userId && r.ReferredId == referrer.Id, ct))
            return new(409, "You were referred by this user already. No double dipping, refer someone new!");
        if (await db.Referrals.CountAsync(r => r.ReferrerId == referrer.Id, ct) >= referrer.ReferralLimit)
            return new(400, "This referrer has maxxed out the number of referrals they can make");

        var now = clock.GetUtcNow().UtcDateTime;
        // Both bonuses expire at the referred user's next reset; the monthly reset renews them from the referral rows.
        // Any reset that is due runs first (we hold both locks): otherwise the bonuses would take a reset date in the
        // past (expired on arrival), and a referrer's overdue reset run later would count this referral a second time
        // in the period it already pays for.
        await tx.ResetQuotaAsync(referrer.Id, ct);
        var expires = await tx.ResetQuotaAsync(userId, ct);
        db.Referrals.Add(new Referral
        {
            ReferrerId = referrer.Id, ReferredId = userId, Status = ReferralStatus.Completed, Credits = CreditsPerSide,
            CreatedAt = now, CompletedAt = now,
        });
        var id = Guid.NewGuid().ToString();
        await tx.GrantAsync(LedgerOwner.User(referrer.Id), $"ref-{id}-referrer", referrer.Id, CreditsPerSide, GrantType.Referral,
            "Referral bonus (you referred a user)", expires, ct);
        await tx.GrantAsync(LedgerOwner.User(userId), $"ref-{id}-referred", userId, CreditsPerSide, GrantType.Referral,
            "Referral bonus (you were referred)", expires, ct);
        await tx.CommitAsync(ct);
        return null;
    }

    /// <summary>The user's code, the people they referred (oldest first), their limit, and who referred them.</summary>
    public static async Task<Overview> OverviewAsync(AppDbContext db, User user, CancellationToken ct)
    {
        var referrals = await db.Referrals.Where(r => r.ReferrerId == user.Id)
            .Join(db.Users, r => r.ReferredId, u => u.Id, (r, u) => new { u.Id, u.Name, u.Email, r.Credits, r.CreatedAt })
            .OrderBy(r => r.CreatedAt).Select(r => new ReferredUser(r.Id, r.Name, r.Email, r.Credits)).ToListAsync(ct);
        var referredBy = await db.Referrals.Where(r => r.ReferredId == user.Id)
            .Join(db.Users, r => r.ReferrerId, u => u.Id, (r, u) => new ReferredUser(u.Id, u.Name, u.Email, r.Credits))
            .FirstOrDefaultAsync(ct);
        return new Overview(user.ReferralCode, referrals, user.ReferralLimit, referredBy);
    }

    public static Task<Referrer?> ReferrerAsync(AppDbContext db, string code, CancellationToken ct) =>
        db.Users.AsNoTracking().Where(u => u.ReferralCode == code)
            .Select(u => new Referrer(u.Id, u.Name, u.ReferralLimit, db.Referrals.Count(r => r.ReferrerId == u.Id))).FirstOrDefaultAsync(ct);

    public static string Link(string appUrl, string code) => $"{appUrl.TrimEnd('/')}/referrals/{code}";
}
