using Microsoft.AspNetCore.Authentication;

namespace Codebuff.Server.Auth;

public sealed class CallerAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>Whether the web session cookie counts (checked before the header token, as upstream does).</summary>
    public bool AcceptsCookie { get; set; }
}
