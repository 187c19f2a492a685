using System.Text.RegularExpressions;

namespace Codebuff.Cli.Tools;

/// <summary>
/// The glob form of <c>.gitignore</c> lines and of ripgrep's <c>-g</c>: names, <c>*</c>, <c>?</c>, <c>**</c>, a leading
/// or inner <c>/</c> anchoring it to the folder, a trailing <c>/</c> for folders only. Negation is the caller's.
/// </summary>
public static class GitGlob
{
    public static (Regex Pattern, bool DirectoryOnly)? ToRegex(string glob, bool ignoreCase)
    {
        var directoryOnly = glob.EndsWith('/');
        glob = glob.TrimEnd('/');
        var anchored = glob.StartsWith('/') || glob.Contains('/');
        glob = glob.TrimStart('/');
        if (glob.Length == 0) return null;
        var body = Regex.Escape(glob).Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]");
        var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return (new Regex((anchored ? "^" : "^(.*/)?") + body + "$", options), directoryOnly);
    }
}
