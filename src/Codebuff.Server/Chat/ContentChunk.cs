namespace Codebuff.Server.Chat;

/// <summary>
/// What the relay takes from an ordinary streamed chunk — id, model, the first choice's delta texts — read in one pass
/// over its bytes, without building a JSON tree: all but one chunk of an answer are relayed as they came, and parsing
/// each into a JsonNode was most of the relay's CPU per call (bench/README.md, proxy section). A chunk that may need
/// rewriting (usage report, error, missing id) or is anything unusual reads as null, and the relay parses it fully.
/// </summary>
sealed record ContentChunk(string Id, string? Model, bool HasDelta, string? Content, string? Reasoning, List<ToolCallDelta>? ToolCalls, string? FinishReason = null)
{
    public static ContentChunk? Read(ReadOnlySpan<byte> payload)
    {
        try
        {
            var r = new Utf8JsonReader(payload);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return null;
            string? id = null, model = null, content = null, reasoning = null, reasoningContent = null, finish = null;
            List<ToolCallDelta>? tools = null;
            var hasDelta = false;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("error"u8)) return null;
                if (r.ValueTextEquals("id"u8)) id = ReadString(ref r);
                else if (r.ValueTextEquals("model"u8)) model = ReadString(ref r);
                else if (r.ValueTextEquals("usage"u8))
                {
                    r.Read();
                    if (r.TokenType == JsonTokenType.StartObject) return null;
                    r.Skip();
                }
                else if (r.ValueTextEquals("choices"u8))
                {
                    r.Read();
                    if (r.TokenType != JsonTokenType.StartArray) { r.Skip(); continue; }
                    r.Read();
                    if (r.TokenType == JsonTokenType.EndArray) continue;
                    if (r.TokenType == JsonTokenType.Null) { SkipRest(ref r); continue; }
                    if (r.TokenType != JsonTokenType.StartObject) return null;
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        if (r.ValueTextEquals("finish_reason"u8)) { finish = ReadString(ref r); continue; }
                        if (!r.ValueTextEquals("delta"u8)) { r.Read(); r.Skip(); continue; }
                        r.Read();
                        if (r.TokenType != JsonTokenType.StartObject) { r.Skip(); continue; }
                        hasDelta = true;
                        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                        {
                            if (r.ValueTextEquals("content"u8)) content = ReadString(ref r);
                            else if (r.ValueTextEquals("reasoning"u8)) reasoning = ReadString(ref r);
                            else if (r.ValueTextEquals("reasoning_content"u8)) reasoningContent = ReadString(ref r);
                            else if (r.ValueTextEquals("tool_calls"u8)) tools = ReadToolArgs(ref r);
                            else { r.Read(); r.Skip(); }
                        }
                    }
                    SkipRest(ref r);
                }
                else { r.Read(); r.Skip(); }
            }
            if (r.TokenType != JsonTokenType.EndObject || r.Read() || id is null) return null;
            return new ContentChunk(id, model, hasDelta, content, reasoning ?? reasoningContent, tools, finish);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Each tool call's index (else its position), id, function name and function arguments.</summary>
    static List<ToolCallDelta>? ReadToolArgs(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartArray) { r.Skip(); return null; }
        var args = new List<ToolCallDelta>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            string? arguments = null, name = null, id = null;
            var index = args.Count;
            if (r.TokenType == JsonTokenType.StartObject)
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    if (r.ValueTextEquals("index"u8))
                    {
                        r.Read();
                        if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var i)) index = i; else r.Skip();
                        continue;
                    }
                    if (r.ValueTextEquals("id"u8)) { id = ReadString(ref r); continue; }
                    if (!r.ValueTextEquals("function"u8)) { r.Read(); r.Skip(); continue; }
                    r.Read();
                    if (r.TokenType != JsonTokenType.StartObject) { r.Skip(); continue; }
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        if (r.ValueTextEquals("arguments"u8)) arguments = ReadString(ref r);
                        else if (r.ValueTextEquals("name"u8)) name = ReadString(ref r);
                        else { r.Read(); r.Skip(); }
                    }
                }
            else r.Skip();
            args.Add(new ToolCallDelta(index, id, name, arguments));
        }
        return args;
    }

    static string? ReadString(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.String) return r.GetString();
        r.Skip();
        return null;
    }

    /// <summary>From inside an array, past its end.</summary>
    static void SkipRest(ref Utf8JsonReader r)
    {
        while (r.Read() && r.TokenType != JsonTokenType.EndArray) r.Skip();
    }
}
