namespace Codebuff.Server.Http;

/// <summary>
/// Collects schema failures of a JSON body and renders them as a zod "format" tree
/// (<c>{"_errors":[],"field":{"_errors":["Required"]}}</c>), the <c>details</c> shape api.md §0.3 names.
/// </summary>
public sealed class BodyErrors
{
    readonly List<(string[] Path, string Message)> _errors = [];

    public bool Any => _errors.Count > 0;

    public IReadOnlyList<(string[] Path, string Message)> Entries => _errors;

    public void Add(string message, params string[] path) => _errors.Add((path, message));

    public JsonObject ToTree()
    {
        var root = new JsonObject { ["_errors"] = new JsonArray() };
        foreach (var (path, message) in _errors)
        {
            var node = root;
            foreach (var segment in path)
            {
                if (node[segment] is not JsonObject child)
                {
                    child = new JsonObject { ["_errors"] = new JsonArray() };
                    node[segment] = child;
                }
                node = child;
            }
            ((JsonArray)node["_errors"]!).Add(message);
        }
        return root;
    }

    public DetailsResult ToResult() => Errors.Details(400, "Invalid request body", ToTree());

    // Typed readers: each records its own failure and returns null, so one pass reports every bad field.

    public string? String(JsonObject body, string name, bool required, int minLength = 0)
    {
        var node = body[name];
        if (node is null) { if (required) Add("Required", name); return null; }
        if (node.GetValueKind() != JsonValueKind.String) { Add($"Expected string, received {JsonKind.Of(node)}", name); return null; }
        var value = node.GetValue<string>();
        if (value.Length < minLength) { Add($"String must contain at least {minLength} character(s)", name); return null; }
        return value;
    }

    public decimal? Number(JsonObject body, string name, bool required, decimal min, decimal max, bool integer = false)
    {
        var node = body[name];
        if (node is null) { if (required) Add("Required", name); return null; }
        if (node.GetValueKind() != JsonValueKind.Number) { Add($"Expected number, received {JsonKind.Of(node)}", name); return null; }
        if (!node.AsValue().TryGetValue<decimal>(out var value)) { Add("Number is out of range", name); return null; }
        if (integer && value != decimal.Truncate(value)) { Add("Expected integer, received float", name); return null; }
        if (value < min) { Add($"Number must be greater than or equal to {min}", name); return null; }
        if (value > max) { Add($"Number must be less than or equal to {max}", name); return null; }
        return value;
    }

    public bool? Boolean(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null) return null;
        if (node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            Add($"Expected boolean, received {JsonKind.Of(node)}", name);
            return null;
        }
        return node.GetValue<bool>();
    }

    /// <summary>An optional nested object (null when absent or null).</summary>
    public JsonObject? Object(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null || node is JsonObject) return (JsonObject?)node;
        Add($"Expected object, received {JsonKind.Of(node)}", name);
        return null;
    }

    /// <summary>zod's strict objects: a key outside <paramref name="allowed"/> is an error of the object itself.</summary>
    public void OnlyKeys(JsonObject body, params string[] allowed)
    {
        var unknown = body.Select(p => p.Key).Where(k => !allowed.Contains(k)).ToList();
        if (unknown.Count > 0) Add($"Unrecognized key(s) in object: {string.Join(", ", unknown.Select(k => $"'{k}'"))}");
    }

    public string[]? StringArray(JsonObject body, string name)
    {
        var node = body[name];
        if (node is null) return null;
        if (node is not JsonArray array) { Add($"Expected array, received {JsonKind.Of(node)}", name); return null; }
        var result = new string[array.Count];
        var ok = true;
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String) result[i] = v.GetValue<string>();
            else { Add($"Expected string, received {JsonKind.Of(array[i])}", name, i.ToString()); ok = false; }
        }
        return ok ? result : null;
    }

    public string? Enum(JsonObject body, string name, bool required, params string[] allowed)
    {
        var value = String(body, name, required);
        if (value is null || allowed.Contains(value)) return value;
        Add($"Invalid enum value. Expected {string.Join(" | ", allowed.Select(a => $"'{a}'"))}, received '{value}'", name);
        return null;
    }
}
