namespace Codebuff.Server.Auth;

/// <summary>
/// The one rule for every return address a request names (<c>next</c>, <c>callbackUrl</c>, the GitHub state's return
/// path): a path on this site, else the site root. Browsers drop tabs and line breaks from a Location and read a
/// leading <c>//</c> or <c>/\</c> as another host, so "/\t/evil.example" would leave the site; any control character
/// therefore refuses the address, and the host-relative forms are checked on what remains once they are gone.
/// </summary>
public static class ReturnPaths
{
    public static string Safe(string? url)
    {
        if (string.IsNullOrEmpty(url) || url.Any(char.IsControl)) return "/";
        var visible = new string(url.Where(c => !char.IsControl(c)).ToArray());
        return visible.StartsWith('/') && !visible.StartsWith("//", StringComparison.Ordinal) && !visible.StartsWith("/\\", StringComparison.Ordinal)
            ? url : "/";
    }
}
