using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Contracts;

namespace Codebuff.Cli.Config;

/// <summary>
/// <c>credentials.json</c>: <c>{"default": {id,name,email,authToken,fingerprintId,fingerprintHash}, …}</c>. Keys this
/// CLI does not know (claudeOAuth, anything newer) survive every write; the file is readable by its owner only.
/// </summary>
public sealed class CredentialsFile(string path)
{
    static readonly JsonSerializerOptions Pretty = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Path { get; } = path;

    public CliUser? Load()
    {
        var user = ReadRoot()?["default"] as JsonObject;
        if (user?["authToken"] is not JsonValue token || token.GetValueKind() != JsonValueKind.String) return null;
        return user.Deserialize<CliUser>(JsonSerializerOptions.Web);
    }

    public void Save(CliUser user)
    {
        var root = ReadRoot() ?? new JsonObject();
        var existing = root["default"] as JsonObject ?? new JsonObject();
        foreach (var (key, value) in JsonSerializer.SerializeToNode(user, JsonSerializerOptions.Web)!.AsObject())
            existing[key] = value?.DeepClone();
        root["default"] = existing;
        Write(root);
    }

    /// <summary>Forgets the login; the file goes when nothing else is left in it.</summary>
    public void Remove()
    {
        var root = ReadRoot();
        if (root is null) return;
        root.Remove("default");
        if (root.Count == 0) File.Delete(Path);
        else Write(root);
    }

    JsonObject? ReadRoot()
    {
        if (!File.Exists(Path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(Path)) as JsonObject
                   ?? throw new CliException($"{Path} is not a JSON object; fix or delete it, then log in again.");
        }
        catch (JsonException e)
        {
            throw new CliException($"{Path} is not valid JSON ({e.Message}); fix or delete it, then log in again.");
        }
    }

    void Write(JsonObject root)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temp = Path + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
            JsonSerializer.Serialize(stream, root, Pretty);
        File.Move(temp, Path, overwrite: true);
    }
}
