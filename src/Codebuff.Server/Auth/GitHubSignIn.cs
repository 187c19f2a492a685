using System.Net.Http.Headers;
using System.Security.Cryptography;
using Codebuff.Server.Billing;
using Codebuff.Server.Payments;
using Codebuff.Server.Web;

namespace Codebuff.Server.Auth;

/// <summary>
/// Web sign-in with GitHub's OAuth authorization-code flow (api.md §5.1), at NextAuth's paths. The first sign-in
/// creates the user, its account row and the sign-up free grant; every sign-in starts a 30-day web session.
/// </summary>
public static class GitHubSignIn
{
    public const string HttpClientName = "github";
    const string StateCookie = "cb-oauth-state";

    public static void MapGitHubSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/auth/signin/github", Start).Page().RequireRateLimiting(AuthRateLimits.Login);
        app.MapGet("/api/auth/callback/github", Callback).Page().RequireRateLimiting(AuthRateLimits.Login);
        app.MapPost("/api/auth/signout", SignOut).Page();
    }

    static Results<RedirectHttpResult, ContentHttpResult> Start(HttpContext http, IOptions<GitHubOptions> github, string? callbackUrl)
    {
        var o = github.Value;
        if (!o.IsConfigured)
            return Page.Message("Sign-in is not configured", "This server has no GitHub OAuth app (Codebuff:GitHub:ClientId and ClientSecret).", "error", 503);
        var state = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        // Double-submit state against CSRF; the return path rides along and is checked to stay on this site.
        http.Response.Cookies.Append(StateCookie, $"{state}|{ReturnPaths.Safe(callbackUrl)}",
            new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/api/auth", Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromMinutes(10) });
        var redirect = CallbackUrl(http);
        return TypedResults.Redirect($"{o.BaseUrl.TrimEnd('/')}/login/oauth/authorize?client_id={Uri.EscapeDataString(o.ClientId)}" +
                                $"&redirect_uri={Uri.EscapeDataString(redirect)}&scope={Uri.EscapeDataString("read:user user:email")}&state={state}");
    }

    static async Task<Results<RedirectHttpResult, ContentHttpResult>> Callback(HttpContext http, AppDbContext db, TokenHasher hasher, CreditLedger ledger, StripeCustomers customers,
        IHttpClientFactory factory, IOptions<GitHubOptions> github, TimeProvider clock, ILogger<AppDbContext> log, string? code, string? state, CancellationToken ct)
    {
        var cookie = http.Request.Cookies[StateCookie]?.Split('|', 2);
        http.Response.Cookies.Delete(StateCookie, new CookieOptions { Path = "/api/auth" });
        if (cookie is not [var expected, var returnPath] || string.IsNullOrEmpty(state) || !CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(expected), System.Text.Encoding.ASCII.GetBytes(state)))
            return Page.Message("Sign-in failed", "The sign-in request expired or did not start here. Please try again.", "error", 400);
        if (string.IsNullOrEmpty(code)) return Page.Message("Sign-in cancelled", "GitHub did not grant access.", "error", 400);

        GitHubUser? profile;
        try
        {
            profile = await FetchUserAsync(factory.CreateClient(HttpClientName), github.Value, CallbackUrl(http), code, ct);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException)
        {
            log.LogWarning("GitHub sign-in failed: {Message}", e.Message);
            profile = null;
        }
        if (profile is null) return Page.Message("Sign-in failed", "GitHub did not confirm who you are. Please try again.", "error", 502);

        var now = clock.GetUtcNow().UtcDateTime;
        SignedIn? signedIn;
        try
        {
            signedIn = await FindOrCreateUserAsync(db, ledger, customers, profile, now, ct);
        }
        catch (DbUpdateException e) when (e.InnerException is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation })
        {
            // A simultaneous first sign-in (two tabs, a double click) created the user or account first; its
            // transaction rolled ours back whole, so look again and find theirs.
            db.ChangeTracker.Clear();
            signedIn = await FindOrCreateUserAsync(db, ledger, customers, profile, now, ct);
        }
        if (signedIn is not { UserId: var userId })
            return Page.Message("Sign-in failed", "Your GitHub account has no verified e-mail address, which Codebuff needs.", "error", 400);
        if (await db.Users.AnyAsync(u => u.Id == userId && u.Banned, ct))
            return Page.Message("Account suspended", PasswordSignIn.SuspendedMessage, "error", 403);
        WebSession.Start(http, db, hasher, userId, now);
        await db.SaveChangesAsync(ct);
        return TypedResults.Redirect(ReturnPaths.Safe(returnPath));
    }

    /// <summary>Back to the site root, or to <paramref name="callbackUrl"/> on this site ("Use another account" returns to /login).</summary>
    static async Task<RedirectHttpResult> SignOut(HttpContext http, AppDbContext db, TokenHasher hasher, string? callbackUrl, CancellationToken ct)
    {
        await WebSession.EndAsync(http, db, hasher, ct);
        return TypedResults.Redirect(ReturnPaths.Safe(callbackUrl));
    }

    sealed record SignedIn(string UserId);

    sealed record GitHubUser(string Id, string Login, string? Name, string? Email, string? AvatarUrl, string AccessToken, string? Scope, string? TokenType);

    /// <summary>GitHub sends the browser back to the origin it came from, so sign-in works on whatever address serves it.</summary>
    static string CallbackUrl(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}/api/auth/callback/github";

    static async Task<GitHubUser?> FetchUserAsync(HttpClient http, GitHubOptions o, string callbackUrl, string code, CancellationToken ct)
    {
        using var exchange = new HttpRequestMessage(HttpMethod.Post, $"{o.BaseUrl.TrimEnd('/')}/login/oauth/access_token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = o.ClientId!, ["client_secret"] = o.ClientSecret!, ["code"] = code,
                ["redirect_uri"] = callbackUrl,
            }),
        };
        exchange.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var tokenResponse = await http.SendAsync(exchange, ct);
        var tokenJson = await tokenResponse.Content.ReadFromJsonAsync<JsonObject>(ct);
        if (!tokenResponse.IsSuccessStatusCode || (string?)tokenJson?["access_token"] is not { Length: > 0 } accessToken) return null;

        var user = await GetJsonAsync<JsonObject>(http, $"{o.ApiBaseUrl.TrimEnd('/')}/user", accessToken, ct);
        if (user?["id"] is not JsonValue id) return null;
        // Only a verified address may identify (or be linked to) a Codebuff user.
        var emails = await GetJsonAsync<JsonArray>(http, $"{o.ApiBaseUrl.TrimEnd('/')}/user/emails", accessToken, ct);
        var email = emails?.OfType<JsonObject>().Where(e => e["verified"]?.GetValue<bool>() == true)
            .OrderByDescending(e => e["primary"]?.GetValue<bool>() == true).Select(e => (string?)e["email"]).FirstOrDefault();
        return new GitHubUser(id.ToJsonString().Trim('"'), (string?)user["login"] ?? "", (string?)user["name"], email, (string?)user["avatar_url"],
            accessToken, (string?)tokenJson["scope"], (string?)tokenJson["token_type"]);
    }

    static async Task<T?> GetJsonAsync<T>(HttpClient http, string url, string accessToken, CancellationToken ct) where T : JsonNode
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("codebuff-dotnet", "1.0"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, ct);
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<T>(ct) : null;
    }

    /// <summary>
    /// The account's user; else the user with that verified e-mail (an operator-created account gets linked); else a
    /// new user with its account row (<see cref="NewUsers"/>). Null when GitHub gave no verified e-mail for a new identity.
    /// </summary>
    static async Task<SignedIn?> FindOrCreateUserAsync(AppDbContext db, CreditLedger ledger, StripeCustomers customers, GitHubUser gh, DateTime now, CancellationToken ct)
    {
        var existing = await db.Accounts.Where(a => a.Provider == "github" && a.ProviderAccountId == gh.Id).Select(a => a.UserId).FirstOrDefaultAsync(ct);
        if (existing is not null)
        {
            await db.Accounts.Where(a => a.Provider == "github" && a.ProviderAccountId == gh.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.AccessToken, gh.AccessToken).SetProperty(a => a.Scope, gh.Scope), ct);
            return new SignedIn(existing);
        }
        if (gh.Email is null) return null;

        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == gh.Email, ct);
        var account = new Account
        {
            UserId = user?.Id ?? Guid.NewGuid().ToString(), Type = "oauth", Provider = "github", ProviderAccountId = gh.Id,
            AccessToken = gh.AccessToken, TokenType = gh.TokenType, Scope = gh.Scope,
        };
        if (user is not null)
        {
            db.Accounts.Add(account);
            await db.SaveChangesAsync(ct);
            return new SignedIn(user.Id);
        }
        await NewUsers.CreateAsync(db, ledger, customers,
            new User { Id = account.UserId, Email = gh.Email, Name = gh.Name ?? gh.Login, Image = gh.AvatarUrl, EmailVerified = now },
            now, () => db.Accounts.Add(account), ct);
        return new SignedIn(account.UserId);
    }

    /// <summary>Upstream's compact id: 32 bits of time and 32 random bits, base64url (11 characters).</summary>
    public static string CompactId(DateTime now)
    {
        Span<byte> bytes = stackalloc byte[8];
        BitConverter.TryWriteBytes(bytes, (uint)new DateTimeOffset(now, TimeSpan.Zero).ToUnixTimeSeconds());
        RandomNumberGenerator.Fill(bytes[4..]);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
