using System.Security.Cryptography;
using Codebuff.Server.Billing;
using Codebuff.Server.Payments;

namespace Codebuff.Server.Auth;

/// <summary>
/// One-time links by e-mail that let the owner of an address choose a password: to finish signing up, or to reset a
/// forgotten one. Kept in the seed's <c>verificationToken</c> table as the token's keyed hash (identifier
/// "signup:&lt;e-mail&gt;" or "reset:&lt;user id&gt;"), valid for an hour, deleted when used.
/// <para>
/// [our choice] Sign-up goes through the e-mail too, so that neither form tells whether an address has an account:
/// both always answer "check your e-mail", and the mail says what applies (a sign-up link, or "you already have an
/// account" with a reset link), and neither waits for that work (<see cref="PasswordMail"/>). It also proves the address, which GitHub sign-in relies on when it links a GitHub
/// identity to the user with the same verified e-mail. Without SMTP the mail (with its link) goes to the server log.
/// </para>
/// </summary>
public sealed class PasswordLinks(AppDbContext db, TokenHasher tokens, PasswordSignIn passwords, IEmailSender email, CreditLedger ledger,
    StripeCustomers customers, TimeProvider clock, IOptions<CodebuffOptions> options, IOptions<AuthOptions> auth, ILogger<PasswordLinks> log)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    const string SignUpPrefix = "signup:";
    const string ResetPrefix = "reset:";
    /// <summary>Where a user revokes all their API keys at once.</summary>
    public const string ApiKeysPath = "/profile?tab=api-keys";

    public enum Kind { SignUp, Reset }

    /// <summary>An unused, unexpired link: what it is for and whose it is (an e-mail to sign up, a user id to reset).</summary>
    public sealed record Link(Kind Kind, string Subject);

    DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>A sign-up link to a new address; an address that has an account gets a reset link instead.</summary>
    /// <remarks>Called by <see cref="PasswordMail"/>, after the form has answered.</remarks>
    public async Task SendSignUpLinkAsync(string address, string? next, CancellationToken ct)
    {
        if (!auth.Value.AllowSignup) return;
        if (await passwords.FindByEmailAsync(address, ct) is { } user)
        {
            await SendResetAsync(user, next, "Someone (hopefully you) tried to create a Codebuff account with this address, which already has one.", ct);
            return;
        }
        var normalized = PasswordSignIn.Normalize(address);
        var link = await IssueAsync(SignUpPrefix + normalized, next, ct);
        await SendAsync(normalized, "Finish creating your Codebuff account",
            $"Open this link within an hour to choose a password and finish creating your Codebuff account:\n\n{link}\n\nIf you did not ask for an account, ignore this e-mail.", ct);
    }

    /// <summary>A reset link when the address has an account; nothing otherwise (the page answers the same either way).</summary>
    /// <remarks>Called by <see cref="PasswordMail"/>, after the form has answered.</remarks>
    public async Task SendResetLinkAsync(string address, string? next, CancellationToken ct)
    {
        if (await passwords.FindByEmailAsync(address, ct) is { } user)
            await SendResetAsync(user, next, "Someone (hopefully you) asked to reset the password of your Codebuff account.", ct);
    }

    async Task SendResetAsync(User user, string? next, string why, CancellationToken ct)
    {
        var link = await IssueAsync(ResetPrefix + user.Id, next, ct);
        await SendAsync(user.Email, "Reset your Codebuff password",
            $"{why}\n\nOpen this link within an hour to choose a new password (it signs you out of the dashboard everywhere else, and out of every CLI):\n\n{link}\n\n" +
            $"API keys keep working after a reset. If someone else may have had your password, revoke them all at {options.Value.AppUrl.TrimEnd('/')}{ApiKeysPath}\n\n" +
            "If you did not ask for this, ignore this e-mail: your password stays as it is.", ct);
    }

    async Task<string> IssueAsync(string identifier, string? next, CancellationToken ct)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        db.VerificationTokens.Add(new VerificationToken { Identifier = identifier, Token = tokens.Hash(token), Expires = Now + Lifetime });
        await db.SaveChangesAsync(ct);
        var back = ReturnPaths.Safe(next) is var path and not "/" ? "&next=" + Uri.EscapeDataString(path) : "";
        return $"{options.Value.AppUrl.TrimEnd('/')}/reset-password?token={token}{back}";
    }

    async Task SendAsync(string to, string subject, string text, CancellationToken ct)
    {
        try
        {
            await email.SendAsync(new EmailMessage(to, subject, text), ct);
        }
        catch (Exception e) when (e is System.Net.Mail.SmtpException or IOException or InvalidOperationException)
        {
            // The page answers the same whether or not a mail went out; the operator sees why it did not.
            log.LogError("Could not send \"{Subject}\": {Message}", subject, e.Message);
        }
    }

    /// <summary>The link behind a token, if it is still usable (the page shows its form only then).</summary>
    public async Task<Link?> FindAsync(string? token, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token)) return null;
        var hash = tokens.Hash(token);
        var identifier = await db.VerificationTokens.AsNoTracking().Where(t => t.Token == hash && t.Expires > Now).Select(t => t.Identifier).FirstOrDefaultAsync(ct);
        return identifier switch
        {
            null => null,
            _ when identifier.StartsWith(SignUpPrefix, StringComparison.Ordinal) => new Link(Kind.SignUp, identifier[SignUpPrefix.Length..]),
            _ when identifier.StartsWith(ResetPrefix, StringComparison.Ordinal) => new Link(Kind.Reset, identifier[ResetPrefix.Length..]),
            _ => null,
        };
    }

    /// <summary>
    /// Uses the link once to set the password: a sign-up creates the user (as every sign-up does, <see cref="NewUsers"/>);
    /// a reset replaces the password and ends the user's web and CLI sessions (API keys stay; the page and the e-mail
    /// point to <see cref="ApiKeysPath"/>, where they are revoked all at once). The user, or null when the link is not usable
    /// (unknown, expired, used, or sign-up since closed or the address taken meanwhile).
    /// </summary>
    public async Task<User?> SetPasswordAsync(string? token, string password, CancellationToken ct)
    {
        if (await FindAsync(token, ct) is not { } link) return null;
        var hash = tokens.Hash(token!);
        var now = Now;
        if (link.Kind == Kind.Reset)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            // Whoever deletes the row uses the link: a second use (or a concurrent one) finds nothing to delete.
            if (await db.VerificationTokens.Where(t => t.Token == hash && t.Expires > now).ExecuteDeleteAsync(ct) != 1) return null;
            var user = await db.Users.FirstOrDefaultAsync(u => u.Id == link.Subject, ct);
            if (user is null) return null;
            user.Password = passwords.Hash(user, password);
            await UserSessions.EndSignInsAsync(db, user.Id, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            return user;
        }

        if (!auth.Value.AllowSignup || await passwords.FindByEmailAsync(link.Subject, ct) is not null) return null;
        var created = new User { Id = Guid.NewGuid().ToString(), Email = link.Subject, EmailVerified = now };
        created.Password = passwords.Hash(created, password);
        try
        {
            await NewUsers.CreateAsync(db, ledger, customers, created, now, null, ct);
        }
        catch (DbUpdateException e) when (e.InnerException is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation })
        {
            // The same link used twice at once: the other use created the account.
            return null;
        }
        await db.VerificationTokens.Where(t => t.Token == hash).ExecuteDeleteAsync(ct);
        return created;
    }
}
