using Codebuff.Server.Payments;

namespace Codebuff.Server.Auth;

/// <summary>
/// What every new user gets, whichever way they signed up (api.md §5.1: GitHub, or e-mail and password): the user row,
/// its quota reset date and the sign-up free grant in one transaction, then a Stripe customer.
/// </summary>
public static class NewUsers
{
    /// <param name="alongside">Stages the caller's own rows (GitHub's account row) to be saved in the same transaction.</param>
    public static async Task CreateAsync(AppDbContext db, CreditLedger ledger, StripeCustomers customers, User user, DateTime now,
        Action? alongside, CancellationToken ct)
    {
        db.Users.Add(user);
        alongside?.Invoke();
        // Saved with the ledger's first entries: the first reset and the sign-up grant.
        await ledger.OpenAccountAsync(user.Id, $"free-{user.Id}-{GitHubSignIn.CompactId(now)}", ct);
        // A Stripe failure is recorded for retry and sign-up goes on.
        await customers.EnsureForUserAsync(db, user.Id, ct);
    }
}
