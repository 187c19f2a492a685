using Codebuff.Server.Billing;
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
        await using (var tx = await ledger.BeginAsync([LedgerOwner.User(user.Id)], ct))
        {
            db.Users.Add(user);
            alongside?.Invoke();
            // The reset date is the database's default (the transaction saves the new row first); the free grant expires then.
            var reset = await tx.ResetQuotaAsync(user.Id, ct);
            // [our choice, api.md §5.1] the sign-up grant does not wait for a Stripe customer.
            await tx.GrantAsync(LedgerOwner.User(user.Id), $"free-{user.Id}-{GitHubSignIn.CompactId(now)}", user.Id, FreeCredits.Initial, GrantType.Free,
                "Free credits for signing up", reset, ct);
            await tx.CommitAsync(ct);
        }
        // A Stripe failure is recorded for retry and sign-up goes on.
        await customers.EnsureForUserAsync(db, user.Id, ct);
    }
}
