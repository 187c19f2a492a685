namespace Codebuff.Server.Orgs;

/// <summary>
/// Repository URLs as org billing compares them (api.md §7.9): any of the usual spellings of a repository on
/// github.com, gitlab.com or bitbucket.org — https or ssh, with or without ".git", a deeper path, mixed case —
/// becomes <c>https://host/owner/repo</c> in lower case. Stored org_repo URLs and request URLs go through the same
/// function, so matching is one equality on an indexed column.
/// </summary>
public static class RepoUrls
{
    public static readonly string[] AllowedHosts = ["github.com", "gitlab.com", "bitbucket.org"];

    public sealed record Repo(string Host, string Owner, string Name)
    {
        public string Url => $"https://{Host}/{Owner}/{Name}";
    }

    public enum Problem { None, InvalidUrl, HostNotAllowed }

    public static Repo? Parse(string? url) => TryParse(url, out var repo) == Problem.None ? repo : null;

    public static Problem TryParse(string? url, out Repo? repo)
    {
        repo = null;
        var text = url?.Trim().ToLowerInvariant() ?? "";
        if (text.Length == 0) return Problem.InvalidUrl;
        // git@host:owner/repo (scp-like ssh) → https://host/owner/repo
        if (text.StartsWith("git@", StringComparison.Ordinal) && text.IndexOf(':') is var colon and > 4)
            text = $"https://{text[4..colon]}/{text[(colon + 1)..]}";
        if (!text.Contains("://", StringComparison.Ordinal)) text = "https://" + text;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http" or "ssh" or "git")) return Problem.InvalidUrl;
        var host = uri.Host.StartsWith("www.", StringComparison.Ordinal) ? uri.Host[4..] : uri.Host;
        if (!AllowedHosts.Contains(host)) return Problem.HostNotAllowed;
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 2) return Problem.InvalidUrl;
        var name = segments[1].EndsWith(".git", StringComparison.Ordinal) ? segments[1][..^4] : segments[1];
        if (name.Length == 0) return Problem.InvalidUrl;
        repo = new Repo(host, Uri.UnescapeDataString(segments[0]), Uri.UnescapeDataString(name));
        return Problem.None;
    }
}
