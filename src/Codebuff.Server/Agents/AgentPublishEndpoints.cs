namespace Codebuff.Server.Agents;

/// <summary>POST /api/agents/validate (api.md §2.10) and POST /api/agents/publish (§4.6).</summary>
public static class AgentPublishEndpoints
{
    public static void MapAgentPublishing(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/agents/validate", Validate).Takes<ValidateRequest>().Answers<Validated>().Refuses(400, 500);
        // Publishing validates the agents before it looks at the caller (upstream's order).
        app.MapPost("/api/agents/publish", Publish).IdentifyCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.Dashboard).AcceptBodyAuthToken().RefuseSuspended()
            .Takes<PublishRequest>().Answers<Published>(201).RefusesWith<PublishRefused>(400, 409).RefusesWith<ErrorDetailsBody>(403).Refuses(500);
    }

    /// <summary>Older clients send the list as agentConfigs.</summary>
    public sealed record ValidateRequest(JsonArray AgentDefinitions, string[]? AllLocalAgentIds);
    public sealed record Validated(bool Success, string[] Configs, List<AgentValidationError> ValidationErrors, int ErrorCount);
    public sealed record PublishRequest(JsonArray Data, string[]? AllLocalAgentIds, string? AuthToken);
    public sealed record PublishedAgent(string Id, string Version, string? DisplayName);
    public sealed record Published(bool Success, string PublisherId, IEnumerable<PublishedAgent> Agents);
    /// <summary>
    /// A refused publish: details says why; validationErrors lists each problem (the request's zod issues, or the
    /// agents' <see cref="AgentValidationError"/>s); hint says how to fix a reference.
    /// </summary>
    public sealed record PublishRefused(string Error, string Details,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? ValidationErrors,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Hint);

    /// <summary>A refusal of a publish step (api.md §4.6): the error, the sentence why and, for a reference, the hint.</summary>
    static JsonHttpResult<PublishRefused> Refused(Refusal refusal) =>
        TypedResults.Json(new PublishRefused(refusal.Message, refusal.Details ?? refusal.Message, null, refusal.Hint), statusCode: refusal.Status);

    static async Task<Results<Ok<Validated>, ErrorResult>> Validate(HttpRequest request, AppDbContext db, ILoggerFactory logs, CancellationToken ct)
    {
        try
        {
            var (ok, body) = await RequestJson.TryReadAsync(request, ct);
            if (!ok) return Errors.InvalidJson();
            var (definitions, name) = body is JsonObject o
                ? o["agentDefinitions"] is JsonArray defs ? (defs, "agentDefinitions") : (o["agentConfigs"] as JsonArray, "agentConfigs")
                : (null, "");
            if (definitions is null)
                return Errors.Error(400, "Invalid request: agentDefinitions must be an array of AgentDefinition objects");
            var local = StringList(body!["allLocalAgentIds"]);

            var result = await AgentValidation.ValidateAsync(db, AgentValidation.KeyById(definitions, name), local, ct);
            return TypedResults.Ok(new Validated(true, result.Valid.Select(v => (string)v.Template["id"]!).ToArray(), result.Errors, result.Errors.Count));
        }
        catch (Exception e) when (e is not OperationCanceledException && !DatabaseUnavailable.Is(e))
        {
            logs.CreateLogger(typeof(AgentPublishEndpoints)).LogError(e, "agent validation failed");
            return Errors.InternalError();
        }
    }

    static string[] StringList(JsonNode? node) => node is JsonArray a
        ? a.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>()).ToArray()
        : [];

    static async Task<Results<Created<Published>, JsonHttpResult<PublishRefused>, DetailsResult, ErrorResult>> Publish(HttpRequest http, Caller caller, AppDbContext db, TimeProvider clock, IOptions<CodebuffOptions> options, ILoggerFactory logs, CancellationToken ct)
    {
        var log = logs.CreateLogger(typeof(AgentPublishEndpoints));
        try
        {
            // 1. Not JSON.
            var (ok, body) = await RequestJson.TryReadAsync(http, ct);
            if (!ok) return Errors.InvalidJson();

            // 2. Request schema.
            var issues = RequestIssues(body);
            if (issues.Count > 0)
                return TypedResults.Json(new PublishRefused("Invalid request body",
                    string.Join("; ", issues.Select(i => (i["path"]!.AsArray().Count > 0 ? string.Join(".", i["path"]!.AsArray().Select(p => p!.ToString())) + ": " : "") + (string)i["message"]!)),
                    new JsonArray(issues.ToArray<JsonNode?>()), null), statusCode: 400);
            var request = (JsonObject)body!;

            // 3. Agent validation, before authentication as upstream does.
            var validation = await AgentValidation.ValidateAsync(db, AgentValidation.KeyById(request["data"]!.AsArray(), "data"), StringList(request["allLocalAgentIds"]), ct);
            if (validation.Errors.Count > 0)
                return TypedResults.Json(new PublishRefused("Agent config validation failed", string.Join("\n", validation.Errors.Select(e => e.Message)),
                    validation.Errors, null), statusCode: 400);
            var templates = validation.Valid.Select(v => v.Template).ToList();

            // 4. Caller.
            if (caller.User is not { } user) return caller.Unauthorized<ErrorResult>();

            // 5–6. One publisher for the whole batch.
            var missing = templates.Where(t => string.IsNullOrEmpty((string?)t["publisher"])).Select(t => (string)t["id"]!).ToList();
            if (missing.Count > 0)
                return Refused(new(400, "Publisher field required",
                    $"All agents must have the \"publisher\" field set. Missing for agents: {string.Join(", ", missing)}"));
            var publishers = templates.Select(t => (string)t["publisher"]!).Distinct(StringComparer.Ordinal).ToList();
            if (publishers.Count > 1)
                return Refused(new(400, "Multiple publishers not allowed",
                    $"All agents in a single request must use the same publisher. Found: {string.Join(", ", publishers)}"));
            var publisherId = publishers.Count == 1 ? publishers[0] : "";

            // 7. Permission to publish there.
            if (!await PublisherAccess.CanPublishAsync(db, publisherId, user.Id, ct))
                return Errors.Details(403, "Publisher not found or not accessible",
                    // [our choice] upstream's sentence, then where to make one: the CLI prints details as they come.
                    $"Publisher '{publisherId}' not found or you don't have permission to publish to it. "
                    + $"Create a publisher at {options.Value.AppUrl.TrimEnd('/')}/publishers/new (or ask its owner to add you to its organization).");

            // 8–10.
            var (plan, failure) = await AgentPublishing.PlanVersionsAsync(db, publisherId, templates, ct);
            if (failure is not null) return Refused(failure);
            failure = await AgentPublishing.ResolveSpawnablesAsync(db, publisherId, plan!, ct)
                      ?? await AgentPublishing.InsertAsync(db, publisherId, plan!, clock.GetUtcNow().UtcDateTime, ct);
            if (failure is not null) return Refused(failure);

            log.LogInformation("user {UserId} published {Count} agent(s) as {Publisher}", user.Id, plan!.Count, publisherId);
            // 11.
            return TypedResults.Created((string?)null, new Published(true, publisherId, plan.Select(p => new PublishedAgent(p.Id, p.Version.ToString(), (string?)p.Data["displayName"]))));
        }
        catch (Exception e) when (e is not OperationCanceledException && !DatabaseUnavailable.Is(e))
        {
            log.LogError(e, "agent publish failed");
            return Errors.InternalError();
        }
    }

    /// <summary>The PublishAgentsRequest schema as zod issues: data is an array of objects, allLocalAgentIds strings, authToken a string.</summary>
    static List<JsonObject> RequestIssues(JsonNode? body)
    {
        var issues = new List<JsonObject>();
        void Add(string expected, JsonNode? node, bool present, params JsonNode?[] path) => issues.Add(new JsonObject
        {
            ["code"] = "invalid_type",
            ["expected"] = expected,
            ["path"] = new JsonArray(path),
            ["message"] = $"Invalid input: expected {expected}, received {JsonKind.Of(node, present)}",
        });

        if (body is not JsonObject o) { Add("object", body, true); return issues; }
        var hasData = o.TryGetPropertyValue("data", out var data);
        if (data is not JsonArray items) Add("array", data, hasData, "data");
        else
            for (var i = 0; i < items.Count; i++)
                if (items[i] is not JsonObject) Add("record", items[i], true, "data", i);
        if (o.TryGetPropertyValue("allLocalAgentIds", out var local))
        {
            if (local is not JsonArray ids) Add("array", local, true, "allLocalAgentIds");
            else
                for (var i = 0; i < ids.Count; i++)
                    if (!(ids[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String)) Add("string", ids[i], true, "allLocalAgentIds", i);
        }
        if (o.TryGetPropertyValue("authToken", out var token) && !(token is JsonValue tv && tv.GetValueKind() == JsonValueKind.String))
            Add("string", token, true, "authToken");
        return issues;
    }
}
