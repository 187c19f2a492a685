namespace Codebuff.Server.Http;

/// <summary>zod's name for a JSON value's type, as Codebuff's validation messages say it ("Expected string, received number").</summary>
public static class JsonKind
{
    /// <param name="present">False for a property that is absent: zod calls that "undefined".</param>
    public static string Of(JsonNode? node, bool present = true) => !present ? "undefined" : node is null ? "null" : node.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    public static bool IsString(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;

    /// <summary>The node's string, or null when it is absent or not a string.</summary>
    public static string? StringOrNull(JsonNode? node) => IsString(node) ? node!.GetValue<string>() : null;
}
