namespace Codebuff.Server.Web.Components.Pages.Auth;

/// <summary>The one field of the sign-up and forgot-password forms.</summary>
public sealed class EmailForm
{
    public string? Email { get; set; }

    /// <summary>Why this is not an e-mail address, or null.</summary>
    public static string? Problem(string? email) =>
        email?.Trim() is { Length: > 2 and <= 320 } e && e.IndexOf('@') is > 0 and var at && at < e.Length - 1 && !e.Any(char.IsWhiteSpace)
            ? null : "Enter an e-mail address, like name@example.com.";
}
