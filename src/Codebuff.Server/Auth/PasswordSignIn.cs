using Microsoft.AspNetCore.Identity;

namespace Codebuff.Server.Auth;

/// <summary>
/// E-mail and password sign-in (issue 14) over the seed's <c>user.password</c> column, hashed with ASP.NET Core
/// Identity's <see cref="PasswordHasher{TUser}"/> (PBKDF2, versioned format, rehashed when the format moves on).
/// Whether an e-mail has an account is never told: an unknown address and a wrong password get the same answer, after
/// the same hashing work.
/// </summary>
public sealed class PasswordSignIn(AppDbContext db, PasswordHasher<User> hasher)
{
    public const int MinLength = 8;
    public const int MaxLength = 256;
    public const string RefusedMessage = "Incorrect e-mail or password.";
    public const string SuspendedMessage = "Your account has been suspended. Please contact support.";

    public enum Outcome { Refused, Suspended, SignedIn }

    /// <summary>Why a new password cannot be used, or null.</summary>
    public static string? Problem(string? password) =>
        string.IsNullOrEmpty(password) || password.Length < MinLength ? $"Use at least {MinLength} characters."
        : password.Length > MaxLength ? $"Use at most {MaxLength} characters." : null;

    /// <summary>Addresses compare case-insensitively and without surrounding spaces.</summary>
    public static string Normalize(string? email) => (email ?? "").Trim().ToLowerInvariant();

    public string Hash(User user, string password) => hasher.HashPassword(user, password);

    /// <summary>The user this address belongs to (case-insensitively; one with a password first), or null.</summary>
    public Task<User?> FindByEmailAsync(string email, CancellationToken ct)
    {
        var normalized = Normalize(email);
        return db.Users.Where(u => u.Email.ToLower() == normalized).OrderBy(u => u.Password == null).FirstOrDefaultAsync(ct);
    }

    /// <summary>Checks the password; the user when it matches and the account is not suspended.</summary>
    public async Task<(Outcome Outcome, User? User)> CheckAsync(string? email, string? password, CancellationToken ct)
    {
        password ??= "";
        var user = string.IsNullOrWhiteSpace(email) || password.Length > MaxLength ? null : await FindByEmailAsync(email, ct);
        if (user?.Password is not { } stored)
        {
            // The same work as a real check, so the answer's timing does not tell that the address has no password.
            hasher.VerifyHashedPassword(Decoy, DecoyHash, password);
            return (Outcome.Refused, null);
        }
        var result = hasher.VerifyHashedPassword(user, stored, password);
        if (result == PasswordVerificationResult.Failed) return (Outcome.Refused, null);
        if (user.Banned) return (Outcome.Suspended, null);
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.Password = Hash(user, password);
            await db.SaveChangesAsync(ct);
        }
        return (Outcome.SignedIn, user);
    }

    static readonly User Decoy = new() { Id = "decoy", Email = "decoy@invalid" };
    static readonly string DecoyHash = new PasswordHasher<User>().HashPassword(Decoy, Guid.NewGuid().ToString());
}
