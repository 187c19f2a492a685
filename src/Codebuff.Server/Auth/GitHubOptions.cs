namespace Codebuff.Server.Auth;

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
