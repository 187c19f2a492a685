namespace Codebuff.Server.Orgs;

/// <summary>Reading the org routes' JSON bodies: [our choice] a body that is not a JSON object is a 400, never upstream's 500.</summary>
static class OrgRequests
{
    public static async Task<(JsonObject? Body, ErrorResult? Error)> ReadObjectAsync(HttpRequest request, CancellationToken ct)
    {
        var (ok, node) = await RequestJson.TryReadAsync(request, ct);
        if (!ok) return (null, Errors.InvalidJson());
        return node is JsonObject body ? (body, null) : (null, Errors.Error(400, "Request body must be a JSON object"));
    }

    /// <summary>A string property, or null when absent, null or of another type.</summary>
    public static string? Str(JsonObject body, string name) =>
        body[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static bool? Bool(JsonObject body, string name) =>
        body[name] is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : null;

    /// <summary>"owner", "admin" or "member" (exact, lower case), else null.</summary>
    public static OrgRole? Role(string? text) => text switch
    {
        "owner" => OrgRole.Owner,
        "admin" => OrgRole.Admin,
        "member" => OrgRole.Member,
        _ => null,
    };

    /// <summary>[our choice] a minimal e-mail shape check: something@something, no spaces, at most 320 characters.</summary>
    public static bool IsEmail(string? email) =>
        email is { Length: > 2 and <= 320 } && email.IndexOf('@') is > 0 and var at && at < email.Length - 1 && !email.Any(char.IsWhiteSpace);

    /// <summary>An invitee: a valid e-mail and the role "admin" or "member" (owners are made by an owner, from the member list).</summary>
    public static (string? Email, OrgRole Role, string? Problem) Invitee(string? email, string? role)
    {
        email = email?.Trim();
        if (!IsEmail(email)) return (null, OrgRole.Member, "A valid email is required");
        return Role(role) is OrgRole.Admin or OrgRole.Member ? (email, Role(role)!.Value, null) : (email, OrgRole.Member, "Role must be admin or member");
    }
}
