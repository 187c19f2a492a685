namespace Codebuff.Server.Auth;

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
