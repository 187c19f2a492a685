namespace Codebuff.Server.Agents;

/// <summary>Publisher id and name rules (api.md §5.4), with upstream's messages.</summary>
public static class PublisherRules
{
    public static string? IdError(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "Publisher ID is required";
        if (!AgentDefinitionSchema.IdPattern().IsMatch(id)) return "Publisher ID must contain only lowercase letters, numbers, and hyphens";
        if (id.Length < 3) return "Publisher ID must be at least 3 characters long";
        if (id.Length > 30) return "Publisher ID must be no more than 30 characters long";
        if (id.StartsWith('-') || id.EndsWith('-')) return "Publisher ID cannot start or end with a hyphen";
        return null;
    }

    public static string? NameError(string? name)
    {
        var trimmed = name?.Trim();
        if (string.IsNullOrEmpty(trimmed)) return "Publisher name is required";
        if (trimmed.Length < 2) return "Publisher name must be at least 2 characters long";
        if (trimmed.Length > 50) return "Publisher name must be no more than 50 characters long";
        return null;
    }

    public static string? EmailError(string? email) =>
        string.IsNullOrWhiteSpace(email) || (email.Trim() is var e && e.Length <= 320 && e.IndexOf('@') > 0 && e.IndexOf('@') < e.Length - 1 && !e.Contains(' '))
            ? null
            : "Invalid email address";

    /// <summary>An absolute http(s) URL or a path on this site (uploaded avatars).</summary>
    public static string? AvatarUrlError(string? url) =>
        string.IsNullOrWhiteSpace(url) || url.Trim().StartsWith('/') && !url.Trim().StartsWith("//")
        || Uri.TryCreate(url.Trim(), UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
            ? null
            : "avatar_url must be an http(s) URL";

    /// <summary>Optional text fields are stored trimmed, and blank means none.</summary>
    public static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    public static string OwnershipType(Publisher p) => p.UserId is not null ? "user" : "organization";
}
