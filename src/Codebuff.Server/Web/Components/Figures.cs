using System.Globalization;
using System.Text.Encodings.Web;

namespace Codebuff.Server.Web.Components;

/// <summary>How the store, run and eval pages write numbers, times and stored JSON.</summary>
public static class Figures
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Number(decimal value) => value.ToString("#,0.##", Invariant);

    /// <summary>Spend in dollars as the store reports it (100 credits = $1).</summary>
    public static string Dollars(decimal dollars) => "$" + dollars.ToString("#,0.00##", Invariant);

    /// <summary>At most <paramref name="max"/> characters of one line of text, cut with an ellipsis.</summary>
    public static string Shorten(string text, int max)
    {
        var line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= max ? line : line[..max] + "…";
    }

    public static string When(DateTime? utc) => utc is { } t ? t.ToString("yyyy-MM-dd HH:mm 'UTC'", Invariant) : "—";

    public static string Duration(int? ms) => ms switch
    {
        null => "—",
        < 1000 => $"{ms} ms",
        < 60_000 => (ms.Value / 1000.0).ToString("0.0", Invariant) + " s",
        _ => TimeSpan.FromMilliseconds(ms.Value).ToString(@"h\:mm\:ss", Invariant),
    };

    /// <summary>
    /// Stored JSON made readable: a string value shows as its text, anything else indented. Cut at
    /// <paramref name="max"/> characters so one huge request cannot swamp the page.
    /// </summary>
    public static string Pretty(string? json, int max = 20_000)
    {
        if (json is null) return "(not recorded)";
        string text;
        try
        {
            var node = JsonNode.Parse(json);
            text = node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node?.ToJsonString(Indented) ?? "null";
        }
        catch (JsonException)
        {
            text = json;
        }
        return text.Length <= max ? text : text[..max] + $"\n… ({(text.Length - max).ToString("N0", Invariant)} more characters not shown)";
    }
}
