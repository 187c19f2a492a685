using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Codebuff.Server.Http;

/// <summary>
/// Reads a request body as JSON whatever its Content-Type says: the SDK posts agent-run bodies as text/plain,
/// so the framework's content-type-gated binding cannot be used for them. The body is parsed once per request:
/// authentication may have read it already for a legacy <c>authToken</c>.
/// </summary>
public static class RequestJson
{
    sealed record Parsed(bool Ok, JsonNode? Body);

    /// <returns>The parsed body, or null when the body is empty, not JSON, or the literal null.</returns>
    public static async Task<JsonNode?> ReadAsync(HttpRequest request, CancellationToken ct = default) =>
        (await TryReadAsync(request, ct)).Body;

    /// <returns>Ok=false when the body is not JSON (an empty body included); Ok=true with Body=null for the literal null.</returns>
    public static async Task<(bool Ok, JsonNode? Body)> TryReadAsync(HttpRequest request, CancellationToken ct = default)
    {
        if (request.HttpContext.Features.Get<Parsed>() is not { } parsed)
        {
            try
            {
                parsed = new Parsed(true, await JsonNode.ParseAsync(request.Body, cancellationToken: ct));
            }
            catch (JsonException)
            {
                parsed = new Parsed(false, null);
            }
            request.HttpContext.Features.Set(parsed);
        }
        return (parsed.Ok, parsed.Body);
    }

    /// <summary>
    /// Why a value of this JSON document cannot be used, or null when every value is fine: a string (property names
    /// included) PostgreSQL could not store — text columns refuse U+0000, and a lone UTF-16 surrogate (or invalid
    /// UTF-8) is no text at all — or a number beyond what a double holds (1e400), which every reader of it would fail
    /// on. Null too for a document that is not JSON: judging that is the endpoint's business.
    /// </summary>
    public static string? FindUnusableValue(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var path = new JsonPathTracker();
        try
        {
            while (reader.Read())
            {
                path.Advance(ref reader);
                // .NET reads 1e400 as Infinity, which no handler's range check expects.
                if (reader.TokenType == JsonTokenType.Number && !(reader.TryGetDouble(out var number) && double.IsFinite(number)))
                    return $"The number at {path.Format(false)} is out of range.";
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName)) continue;
                var problem = Check(ref reader);
                if (problem is null) continue;
                var what = reader.TokenType == JsonTokenType.PropertyName ? "property name" : "string";
                return $"The {what} at {path.Format(reader.TokenType == JsonTokenType.PropertyName)} {problem}.";
            }
        }
        catch (JsonException) { }
        return null;
    }

    static string? Check(ref Utf8JsonReader reader)
    {
        var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        if (!reader.ValueIsEscaped)
            return Utf8.IsValid(raw) ? null : "is not valid UTF-8";
        // Only an escape can spell U+0000 or a lone surrogate; unescaping validates surrogate pairs.
        var buffer = ArrayPool<char>.Shared.Rent(raw.Length);
        try
        {
            var length = reader.CopyString(buffer);
            return buffer.AsSpan(0, length).Contains('\0') ? "contains the character U+0000 (\\u0000), which cannot be stored" : null;
        }
        catch (InvalidOperationException)
        {
            return "contains an unpaired UTF-16 surrogate (e.g. a lone \\ud800), which is not valid text";
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>The JSONPath ($.a.b[2]) of the reader's current token, kept up to date token by token.</summary>
    sealed class JsonPathTracker
    {
        readonly List<(bool IsArray, int Index, string? Name)> _frames = [];

        public void Advance(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName when _frames.Count > 0:
                    _frames[^1] = (false, 0, reader.ValueIsEscaped ? SafeName(ref reader) : Encoding.UTF8.GetString(reader.ValueSpan));
                    return;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    _frames.RemoveAt(_frames.Count - 1);
                    return;
            }
            // A value inside an array moves the index on; a container then opens a frame of its own.
            if (_frames.Count > 0 && _frames[^1].IsArray) _frames[^1] = (true, _frames[^1].Index + 1, null);
            if (reader.TokenType == JsonTokenType.StartObject) _frames.Add((false, 0, null));
            else if (reader.TokenType == JsonTokenType.StartArray) _frames.Add((true, -1, null));
        }

        public string Format(bool atPropertyName)
        {
            var sb = new StringBuilder("$");
            for (var i = 0; i < _frames.Count; i++)
            {
                var (isArray, index, name) = _frames[i];
                if (isArray) sb.Append('[').Append(index).Append(']');
                else if (name is not null && !(atPropertyName && i == _frames.Count - 1)) sb.Append('.').Append(name);
            }
            return sb.ToString();
        }

        static string SafeName(ref Utf8JsonReader reader)
        {
            try { return reader.GetString()!.Replace("\0", "\\u0000"); }
            catch (InvalidOperationException) { return "(invalid name)"; }
        }
    }
}
