using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Web;

/// <summary>
/// The browser leg of the CLI login (api.md §4.2): /login offers GitHub sign-in and /onboard links the CLI's
/// fingerprint to the signed-in user by creating its cli session.
/// </summary>
public static class LoginPages
{
    public static void MapLoginPages(this IEndpointRouteBuilder app)
    {
        // Linking a CLI is a browser flow: only the web session cookie counts there.
        var login = app.MapGroup("").IdentifyCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.SignIn);
        login.MapGet("/login", Login).Page();
        login.MapGet("/onboard", Onboard).Page();
    }

    static IResult Login(HttpRequest request, Caller caller)
    {
        var query = request.QueryString.Value ?? "";
        var hasAuthCode = request.Query.ContainsKey("auth_code");
        // Already signed in and here for the CLI: straight on to linking.
        if (hasAuthCode && caller.Source == CredentialSource.Cookie) return Results.Redirect("/onboard" + query);
        var next = hasAuthCode || request.Query.ContainsKey("referral_code") ? "/onboard" + query : "/";
        var href = "/api/auth/signin/github?callbackUrl=" + Uri.EscapeDataString(next);
        var intro = hasAuthCode ? "Sign in to connect the Codebuff CLI on your computer." : "Sign in to manage your account, usage and API keys.";
        return Page.Html("Sign in", $"""
            <h1>Sign in to Codebuff</h1>
            <p>{Page.Encode(intro)}</p>
            <p><a class="button" id="github-signin" href="{Page.Encode(href)}">Continue with GitHub</a></p>
            """);
    }

    static async Task<IResult> Onboard(HttpContext http, Caller caller, AppDbContext db, TokenHasher hasher, CliLogin login, CliTokenVault vault, TimeProvider clock, CancellationToken ct)
    {
        if (caller is not { Source: CredentialSource.Cookie, User: { } user }) return Results.Redirect("/login" + http.Request.QueryString.Value);

        var authCode = http.Request.Query["auth_code"].ToString();
        if (authCode.Length == 0)
            return Page.Message("Welcome to Codebuff", $"You are signed in as {user.Email}.", "ok");
        var parts = authCode.Split('.');
        if (parts is not [var fingerprintId, var expiresAt, var hash] || !login.Verify(fingerprintId, expiresAt, hash))
            return Page.Message("Invalid auth code", "This login link is not valid. Run the login command in your terminal again.", "error", 400);
        var now = clock.GetUtcNow();
        if (!long.TryParse(expiresAt, out var expiresMs) || now.ToUnixTimeMilliseconds() > expiresMs)
            return Page.Message("Auth code expired", "This login link has expired. Run the login command in your terminal again.", "error", 400);

        var nowUtc = now.UtcDateTime;
        // Replay of a link this user already completed: nothing to do.
        var already = await db.Sessions.Where(s => s.UserId == user.Id)
            .Join(db.Fingerprints.Where(f => f.SigHash == hash), s => s.FingerprintId, f => f.Id, (s, f) => s).AnyAsync(ct);
        if (already) return Page.Message("Already connected", "Your terminal is already logged in. You can close this window.", "ok");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // The signed hash claims the fingerprint (insert, or re-claim a fingerprint this user used before). The upsert
        // locks the fingerprint row first, so two users onboarding the same fingerprint at once are serialized and
        // the second one's check below sees the first one's committed session.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO fingerprint (id, sig_hash) VALUES ({fingerprintId}, {hash})
            ON CONFLICT (id) DO UPDATE SET sig_hash = excluded.sig_hash
            """, ct);
        // A fingerprint another user holds cannot be taken over.
        if (await db.Sessions.AnyAsync(s => s.FingerprintId == fingerprintId && s.UserId != user.Id && s.Expires > nowUtc, ct))
        {
            await tx.RollbackAsync(ct);
            return Page.Message("Cannot connect this terminal", "This CLI is already logged in as someone else. Log out there first.", "error", 409);
        }
        var cliToken = CliLogin.NewCliToken();
        var cliHash = hasher.Hash(cliToken);
        db.Sessions.Add(new Session
        {
            SessionToken = cliHash, UserId = user.Id, Type = SessionType.Cli,
            Expires = CliLogin.CliSessionExpiry, FingerprintId = fingerprintId,
        });
        await db.SaveChangesAsync(ct);
        var webHash = caller.SessionId;
        await db.Sessions.Where(s => s.SessionToken == webHash && s.FingerprintId == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.FingerprintId, fingerprintId), ct);
        // The raw token exists only here and (encrypted) in the vault, until the CLI's poll collects it within the window.
        await vault.KeepAsync(db, cliHash, hash, cliToken, DateTimeOffset.FromUnixTimeMilliseconds(expiresMs), ct);
        await tx.CommitAsync(ct);
        return Page.Message("You're logged in!", $"The Codebuff CLI is now connected to {user.Email}. Return to your terminal.", "ok");
    }
}
