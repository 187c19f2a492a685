namespace Codebuff.Server.Auth;

/// <summary>The auth secret, resolved once (configured, or generated into DataDir) and shared by every use.</summary>
public sealed record AuthSecret(string Value);

/// <summary>Section "Codebuff:GitHub": the OAuth app the web sign-in uses.</summary>
public sealed class GitHubOptions
{
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    /// <summary>Where users authorize (…/login/oauth/authorize) and codes are exchanged (…/login/oauth/access_token).</summary>
    public string BaseUrl { get; set; } = "https://github.com";
    /// <summary>The REST API (/user, /user/emails).</summary>
    public string ApiBaseUrl { get; set; } = "https://api.github.com";

    /// <summary>Whether there is an OAuth app to sign in with (the sign-in page offers GitHub only then).</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(ClientId), nameof(ClientSecret))]
    public bool IsConfigured => !string.IsNullOrEmpty(ClientId) && !string.IsNullOrEmpty(ClientSecret);
}

/// <summary>Section "Codebuff:Auth": local (e-mail and password) accounts.</summary>
public sealed class AuthOptions
{
    /// <summary>Whether anyone may create an account at /signup; when false, accounts come from GitHub sign-in or
    /// <c>admin create-user</c>.</summary>
    public bool AllowSignup { get; set; } = true;
}

/// <summary>Section "Codebuff:RateLimits": requests per client IP per minute on the login and token routes.</summary>
public sealed class AuthRateLimitOptions
{
    public int LoginPerMinute { get; set; } = 30;
    /// <summary>Posts of the password forms (sign-in, sign-up, forgot and reset password); viewing them is not counted.</summary>
    public int PasswordPerMinute { get; set; } = 10;
    /// <summary>The CLI polls its login status every 5 s for up to 5 minutes.</summary>
    public int StatusPerMinute { get; set; } = 60;
    public int TokensPerMinute { get; set; } = 20;
    /// <summary>Token creation per caller credential (session), on top of the per-IP limit: many users behind one
    /// address are not starved by one of them, and one account cannot mint tokens from many addresses.</summary>
    public int TokensPerUserPerMinute { get; set; } = 10;
}
