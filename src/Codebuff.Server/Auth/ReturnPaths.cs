namespace Codebuff.Server.Auth;

/// <summary>
/// The one rule for every return address a request names (<c>next</c>, <c>callbackUrl</c>, the GitHub state's return
/// path): a path on this site, else the site root. Browsers drop tabs and line breaks from a Location and read a
/// leading <c>//</c> or <c>/\</c> as another host, so "/\t/evil.example" would leave the site; any control character
/// therefore refuses the address outright, and so does a host-relative form.
/// </summary>
public static class ReturnPaths
{
    public static string Safe(string? url) =>
        string.IsNullOrEmpty(url) || url.Any(char.IsControl) || !url.StartsWith('/')
        || url.StartsWith("//", StringComparison.Ordinal) || url.StartsWith("/\\", StringComparison.Ordinal)
            ? "/" : url;
}
