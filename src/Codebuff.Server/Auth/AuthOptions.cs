namespace Codebuff.Server.Auth;

/// <summary>Section "Codebuff:Auth": local (e-mail and password) accounts.</summary>
public sealed class AuthOptions
{
    /// <summary>Whether anyone may create an account at /signup; when false, accounts come from GitHub sign-in or
    /// <c>admin create-user</c>.</summary>
    public bool AllowSignup { get; set; } = true;
}
