using System.Text.RegularExpressions;

namespace Codebuff.Server.Agents;

/// <summary>One problem found in a definition. Schema issues are reported as "Schema validation failed: path: message".</summary>
public sealed record SchemaIssue(string Path, string Message, bool Schema = true);

/// <summary>
/// The SDK's DynamicAgentDefinition → DynamicAgentTemplate parse, done in one pass that reports every issue with its
/// path (the SDK stops at the first failing stage). The output is the normalised template publishing stores and the
/// agents API returns: defaults filled in, unknown top-level keys dropped, keys in the schema's order.
/// </summary>
public static partial class AgentDefinitionSchema
{
    [GeneratedRegex("^[a-z0-9-]+$", RegexOptions.CultureInvariant)]
    public static partial Regex IdPattern();

    public static readonly string[] OutputModes = ["last_message", "all_messages", "structured_output"];
    static readonly string[] SchemaTypes = ["object", "array", "string", "number", "boolean", "null", "integer"];
    static readonly string[] Efforts = ["high", "medium", "low", "minimal", "none"];
    static readonly string[] Quantizations = ["int4", "int8", "fp4", "fp6", "fp8", "fp16", "bf16", "fp32", "unknown"];
    const int MaxSchemaDepth = 32;

    /// <returns>The normalised template, or null when any issue was added.</returns>
    public static JsonObject? Normalise(JsonNode? input, List<SchemaIssue> issues)
    {
        var start = issues.Count;
        if (input is not JsonObject o)
        {
            issues.Add(new("", $"Invalid input: expected object, received {JsonKind.Of(input, true)}"));
            return null;
        }
        var c = new Checker(issues);

        var id = c.String(o, "id", required: true);
        if (id is not null && !IdPattern().IsMatch(id)) c.Add("id", "Agent ID must contain only lowercase letters, numbers, and hyphens");
        var version = c.String(o, "version");
        var publisher = c.String(o, "publisher");
        var displayName = c.String(o, "displayName", required: true);
        var model = c.String(o, "model", required: true);
        var reasoning = c.ReasoningOptions(o);
        var provider = c.ProviderOptions(o);
        var mcp = c.McpServers(o);
        var tools = c.StringArray(o, "toolNames", "toolNames");
        // Legacy definitions call the list "subagents"; it only counts when spawnableAgents is absent.
        var spawnKey = o.ContainsKey("spawnableAgents") || !o.ContainsKey("subagents") ? "spawnableAgents" : "subagents";
        var spawnable = c.StringArray(o, spawnKey, spawnKey);
        var inputSchema = c.InputSchema(o);
        var includeHistory = c.Boolean(o, "includeMessageHistory");
        var inherit = c.Boolean(o, "inheritParentSystemPrompt");
        var outputMode = c.Enum(o, "outputMode", OutputModes);
        var outputSchema = o.TryGetPropertyValue("outputSchema", out var os) ? c.ObjectSchema(os, "outputSchema") : null;
        var spawnerPrompt = c.String(o, "spawnerPrompt");
        var systemPrompt = c.String(o, "systemPrompt");
        var instructionsPrompt = c.String(o, "instructionsPrompt");
        var stepPrompt = c.String(o, "stepPrompt");
        string? handleSteps = null;
        if (o.TryGetPropertyValue("handleSteps", out var hs))
        {
            if (hs is JsonValue hv && hv.GetValueKind() == JsonValueKind.String) handleSteps = hv.GetValue<string>();
            else c.Add("handleSteps", $"Invalid input: expected the generator function's source as a string, received {JsonKind.Of(hs, true)}");
        }

        // Named by the raw mcpServers keys, so that a broken server entry does not also make its tools "unknown".
        var mcpNames = o["mcpServers"] is JsonObject rawMcp ? rawMcp.Select(p => p.Key).ToHashSet(StringComparer.Ordinal) : [];
        if (tools is not null)
            for (var i = 0; i < tools.Count; i++)
            {
                var t = tools[i];
                var slash = t.IndexOf('/');
                if (KnownTools.IsKnown(t) || (slash > 0 && mcpNames.Contains(t[..slash]))) continue;
                c.Add($"toolNames.{i}", $"Unknown tool \"{t}\": not a Codebuff tool ({string.Join(", ", KnownTools.Names)}) nor \"<server>/<tool>\" of a server in mcpServers");
            }

        // The template schema's refinements.
        var outputModeOk = outputMode is not null || !o.ContainsKey("outputMode");
        if (outputSchema is not null && outputModeOk && outputMode != "structured_output")
            c.Add("outputMode", "outputSchema requires outputMode to be explicitly set to 'structured_output'.");
        if (spawnable is { Count: > 0 } && tools is not null && !tools.Contains("spawn_agents"))
            c.Add("toolNames", "Non-empty spawnableAgents array requires the 'spawn_agents' tool. Add 'spawn_agents' to toolNames or remove spawnableAgents.");
        if (inherit == true && !string.IsNullOrWhiteSpace(systemPrompt))
            c.Add("systemPrompt", "Cannot specify both systemPrompt and inheritParentSystemPrompt. When inheritParentSystemPrompt is true, systemPrompt must be empty.");

        // Checks the SDK runs after the schema parse (input schema conversion, generator check).
        if (inputSchema?["prompt"] is JsonObject promptSchema && RejectsString(promptSchema) is { } why)
            issues.Add(new("inputSchema.prompt", $"Invalid inputSchema.prompt: Schema must allow string or undefined values. Current schema validation error: {why}. Please ensure your JSON schema accepts string types.", Schema: false));
        if (handleSteps is not null && !handleSteps.Trim().StartsWith("function*", StringComparison.Ordinal))
            issues.Add(new("handleSteps", $"handleSteps must be a generator function: \"function* (params) {{ ... }}\". Found: {handleSteps[..Math.Min(50, handleSteps.Length)]}...", Schema: false));

        if (issues.Count > start) return null;

        var result = new JsonObject { ["id"] = id };
        if (version is not null) result["version"] = version;
        if (publisher is not null) result["publisher"] = publisher;
        result["displayName"] = displayName;
        result["model"] = model;
        if (reasoning is not null) result["reasoningOptions"] = reasoning;
        if (provider is not null) result["providerOptions"] = provider;
        result["mcpServers"] = mcp ?? new JsonObject();
        result["toolNames"] = ToArray(tools ?? []);
        result["spawnableAgents"] = ToArray(spawnable ?? []);
        if (inputSchema is not null) result["inputSchema"] = inputSchema;
        result["includeMessageHistory"] = includeHistory ?? false;
        result["inheritParentSystemPrompt"] = inherit ?? false;
        result["outputMode"] = outputMode ?? "last_message";
        if (outputSchema is not null) result["outputSchema"] = outputSchema;
        if (spawnerPrompt is not null) result["spawnerPrompt"] = spawnerPrompt;
        result["systemPrompt"] = systemPrompt ?? "";
        result["instructionsPrompt"] = instructionsPrompt ?? "";
        result["stepPrompt"] = stepPrompt ?? "";
        if (handleSteps is not null) result["handleSteps"] = handleSteps;
        return result;
    }

    static JsonArray ToArray(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    /// <summary>The SDK converts inputSchema.prompt to a validator and requires it to accept the string "test".</summary>
    static string? RejectsString(JsonObject s)
    {
        const string probe = "test";
        if (s["enum"] is JsonArray values && !values.Any(v => v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String && jv.GetValue<string>() == probe))
            return "Invalid option: the enum does not allow arbitrary strings";
        if (s["const"] is JsonValue cv && !(cv.GetValueKind() == JsonValueKind.String && cv.GetValue<string>() == probe))
            return "Invalid input: the const does not allow arbitrary strings";
        if (s["minLength"] is JsonValue min && min.TryGetValue<double>(out var m) && m > probe.Length) return $"Too small: expected string to have >={m} characters";
        if (s["maxLength"] is JsonValue max && max.TryGetValue<double>(out var x) && x < probe.Length) return $"Too big: expected string to have <={x} characters";
        if (s["pattern"] is JsonValue p && p.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                if (!Regex.IsMatch(probe, p.GetValue<string>(), RegexOptions.None, TimeSpan.FromMilliseconds(50))) return "Invalid string: must match the pattern";
            }
            catch (Exception e) when (e is ArgumentException or RegexMatchTimeoutException) { return "Invalid pattern"; }
        }
        return null;
    }

    static string Options(IEnumerable<string> values) => "Invalid option: expected one of " + string.Join("|", values.Select(v => $"\"{v}\""));

    sealed class Checker(List<SchemaIssue> issues)
    {
        public void Add(string path, string message) => issues.Add(new(path, message));

        static string At(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";

        /// <summary>An optional object-valued field: null when absent, or (with an issue) when it is not an object.</summary>
        JsonObject? Section(JsonObject o, string path, string expected)
        {
            if (!o.TryGetPropertyValue(path, out var n)) return null;
            if (n is JsonObject section) return section;
            Expected(path, expected, n, true);
            return null;
        }

        /// <summary>
        /// An optional section that <paramref name="read"/> rebuilds from the parts it accepts: null when it is absent or
        /// when any of its checks added an issue, so a section with an error is never half kept.
        /// </summary>
        JsonObject? Rebuilt(JsonObject o, string path, string expected, Action<JsonObject, string, JsonObject> read)
        {
            if (Section(o, path, expected) is not { } section) return null;
            var start = issues.Count;
            var result = new JsonObject();
            read(section, path, result);
            return issues.Count == start ? result : null;
        }

        void Expected(string path, string expected, JsonNode? node, bool present) =>
            Add(path, $"Invalid input: expected {expected}, received {JsonKind.Of(node, present)}");

        static bool IsNumber(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number;
        static bool IsBoolean(JsonNode? n) => n is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False;

        public string? String(JsonObject o, string key, bool required = false, string parent = "")
        {
            var present = o.TryGetPropertyValue(key, out var n);
            if (!present && !required) return null;
            if (JsonKind.IsString(n)) return n!.GetValue<string>();
            Expected(At(parent, key), "string", n, present);
            return null;
        }

        public bool? Boolean(JsonObject o, string key, string parent = "")
        {
            if (!o.TryGetPropertyValue(key, out var n)) return null;
            if (IsBoolean(n)) return n!.GetValue<bool>();
            Expected(At(parent, key), "boolean", n, true);
            return null;
        }

        public string? Enum(JsonObject o, string key, string[] allowed, string parent = "")
        {
            if (!o.TryGetPropertyValue(key, out var n)) return null;
            if (JsonKind.IsString(n) && allowed.Contains(n!.GetValue<string>())) return n.GetValue<string>();
            Add(At(parent, key), Options(allowed));
            return null;
        }

        public List<string>? StringArray(JsonObject o, string key, string path)
        {
            if (!o.TryGetPropertyValue(key, out var n)) return null;
            if (n is not JsonArray a) { Expected(path, "array", n, true); return null; }
            var result = new List<string>(a.Count);
            var ok = true;
            for (var i = 0; i < a.Count; i++)
            {
                if (JsonKind.IsString(a[i])) result.Add(a[i]!.GetValue<string>());
                else { Expected($"{path}.{i}", "string", a[i], true); ok = false; }
            }
            return ok ? result : null;
        }

        JsonObject? StringRecord(JsonNode? n, string path)
        {
            if (n is not JsonObject r) { Expected(path, "record", n, true); return null; }
            var ok = true;
            foreach (var (k, v) in r)
                if (!JsonKind.IsString(v)) { Expected(At(path, k), "string", v, true); ok = false; }
            return ok ? (JsonObject)r.DeepClone() : null;
        }

        public JsonObject? ReasoningOptions(JsonObject o) => Rebuilt(o, "reasoningOptions", "object", (r, path, result) =>
        {
            if (Boolean(r, "enabled", path) is { } enabled) result["enabled"] = enabled;
            if (Boolean(r, "exclude", path) is { } exclude) result["exclude"] = exclude;
            if (IsNumber(r["max_tokens"])) result["max_tokens"] = r["max_tokens"]!.DeepClone();
            else if (JsonKind.IsString(r["effort"]) && Efforts.Contains(r["effort"]!.GetValue<string>())) result["effort"] = r["effort"]!.GetValue<string>();
            else Add(path, $"Invalid input: expected max_tokens (number) or effort ({string.Join("|", Efforts.Select(e => $"\"{e}\""))})");
        });

        public JsonObject? ProviderOptions(JsonObject o) => Rebuilt(o, "providerOptions", "object", (p, path, result) =>
        {
            foreach (var key in new[] { "order", "only", "ignore" })
                if (StringArray(p, key, At(path, key)) is { } list) result[key] = ToArray(list);
            foreach (var key in new[] { "allow_fallbacks", "require_parameters" })
                if (Boolean(p, key, path) is { } b) result[key] = b;
            if (Enum(p, "data_collection", ["allow", "deny"], path) is { } dc) result["data_collection"] = dc;
            if (StringArray(p, "quantizations", At(path, "quantizations")) is { } qs)
            {
                for (var i = 0; i < qs.Count; i++)
                    if (!Quantizations.Contains(qs[i])) Add($"{path}.quantizations.{i}", Options(Quantizations));
                result["quantizations"] = ToArray(qs);
            }
            if (Enum(p, "sort", ["price", "throughput", "latency"], path) is { } sort) result["sort"] = sort;
            if (p.TryGetPropertyValue("max_price", out var mp))
            {
                if (mp is not JsonObject prices) Expected(At(path, "max_price"), "object", mp, true);
                else
                {
                    var kept = new JsonObject();
                    foreach (var key in new[] { "prompt", "completion", "image", "audio", "request" })
                    {
                        if (!prices.TryGetPropertyValue(key, out var v)) continue;
                        if (IsNumber(v) || JsonKind.IsString(v)) kept[key] = v!.DeepClone();
                        else Expected($"{path}.max_price.{key}", "number or string", v, true);
                    }
                    result["max_price"] = kept;
                }
            }
        });

        public JsonObject? McpServers(JsonObject o) => Rebuilt(o, "mcpServers", "record", (servers, path, result) =>
        {
            foreach (var (name, config) in servers)
            {
                var at = At(path, name);
                if (config is not JsonObject s) { Expected(at, "object", config, true); continue; }
                var type = s["type"] is JsonValue tv && tv.GetValueKind() == JsonValueKind.String ? tv.GetValue<string>() : null;
                var stdio = type == "stdio" || (type is null && s.ContainsKey("command") && !s.ContainsKey("url"));
                string[] allowed = stdio ? ["type", "command", "args", "env"] : ["type", "url", "params", "headers"];
                foreach (var (key, _) in s)
                    if (!allowed.Contains(key)) Add(at, $"Unrecognized key: \"{key}\"");
                var entry = new JsonObject();
                if (stdio)
                {
                    entry["type"] = "stdio";
                    entry["command"] = String(s, "command", required: true, parent: at);
                    entry["args"] = s.ContainsKey("args") ? (StringArray(s, "args", At(at, "args")) is { } args ? ToArray(args) : null) : new JsonArray();
                    entry["env"] = s.TryGetPropertyValue("env", out var env) ? StringRecord(env, At(at, "env")) : new JsonObject();
                }
                else
                {
                    entry["type"] = s.ContainsKey("type") ? Enum(s, "type", ["http", "sse"], at) : "http";
                    entry["url"] = String(s, "url", required: true, parent: at);
                    entry["params"] = s.TryGetPropertyValue("params", out var ps) ? StringRecord(ps, At(at, "params")) : new JsonObject();
                    entry["headers"] = s.TryGetPropertyValue("headers", out var hs) ? StringRecord(hs, At(at, "headers")) : new JsonObject();
                }
                result[name] = entry;
            }
        });

        public JsonObject? InputSchema(JsonObject o)
        {
            const string path = "inputSchema";
            if (Section(o, path, "object") is not { } s) return null;
            var start = issues.Count;
            if (s.TryGetPropertyValue("prompt", out var prompt))
            {
                if (prompt is not JsonObject p) Expected($"{path}.prompt", "object", prompt, true);
                else
                {
                    if (!(p["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String && t.GetValue<string>() == "string"))
                        Add($"{path}.prompt.type", "Invalid input: expected \"string\"");
                    String(p, "description", parent: $"{path}.prompt");
                }
            }
            if (s.TryGetPropertyValue("params", out var ps)) ObjectSchema(ps, $"{path}.params");
            return issues.Count == start ? (JsonObject)s.DeepClone() : null;
        }

        /// <summary>A JSON schema whose type is "object" (inputSchema.params, outputSchema).</summary>
        public JsonObject? ObjectSchema(JsonNode? n, string path)
        {
            var start = issues.Count;
            Schema(n, path, 0);
            if (n is not JsonObject) return null;
            if (!(n["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String && t.GetValue<string>() == "object"))
                Add(At(path, "type"), "Invalid input: expected \"object\"");
            return issues.Count == start ? (JsonObject)n.DeepClone() : null;
        }

        bool Schema(JsonNode? n, string path, int depth)
        {
            if (n is not JsonObject s) { Expected(path, "object", n, true); return false; }
            if (depth > MaxSchemaDepth) { Add(path, $"JSON schema nested deeper than {MaxSchemaDepth} levels"); return false; }
            var start = issues.Count;
            if (s.ContainsKey("type")) Enum(s, "type", SchemaTypes, path);
            String(s, "description", parent: path);
            if (s.TryGetPropertyValue("properties", out var props))
            {
                if (props is not JsonObject po) Expected(At(path, "properties"), "record", props, true);
                else
                    foreach (var (name, sub) in po)
                        if (!IsBoolean(sub)) Schema(sub, $"{path}.properties.{name}", depth + 1);
            }
            if (s.ContainsKey("required")) StringArray(s, "required", At(path, "required"));
            if (s.TryGetPropertyValue("enum", out var en))
            {
                if (en is not JsonArray values) Expected(At(path, "enum"), "array", en, true);
                else
                    for (var i = 0; i < values.Count; i++)
                        if (values[i] is not null && values[i] is not JsonValue)
                            Expected($"{path}.enum.{i}", "string, number, boolean or null", values[i], true);
            }
            return issues.Count == start;
        }
    }
}
