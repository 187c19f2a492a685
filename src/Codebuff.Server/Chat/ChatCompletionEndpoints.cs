using System.Globalization;
using Codebuff.Server.Billing;
using Codebuff.Server.Orgs;
using Codebuff.Server.Telemetry;

namespace Codebuff.Server.Chat;

/// <summary>POST /api/v1/chat/completions: the gates of api.md §2.5.3 in their order, then the proxy.</summary>
public static class ChatCompletionEndpoints
{
    public static void MapChatCompletions(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/v1/chat/completions", Handle).IdentifyCaller(CallerAuthentication.ApiKey, Unauthenticated.Tools) // body is checked first
            .CacheCaller().RefuseSuspended()
            .Takes<ChatWire.Request>().Answers<ChatWire.Completion>().RefusesWith<MessageBody>(400, 402).RefusesWith<CodedErrorBody>(403, 429, 503)
            .Refuses(500).RefusesWith<ChatWire.ProviderError>(502, 504).RefusesWith<ModelEndpoints.ModelNotFound>(404);

    /// <summary>What the handler needs, gathered by the framework.</summary>
    public readonly record struct ChatRequest(
        HttpContext Context, ChatScope Scope, ChatRateLimiter Limiter, ChatProxy Proxy,
        SseRelay Relay, ProviderRoutes Routes, ByokCipher Cipher, IOptions<ChatOptions> ChatOptions, IOptions<UpstreamOptions> Upstream, IOptions<CodebuffOptions> Options, TimeProvider Clock, ILogger<ChatProxy> Log,
        HoldKeeper Holds, CancellationToken Cancellation)
    {
        public AppDbContext Db => Scope.Get<AppDbContext>();
        public CreditLedger Ledger => Scope.Get<CreditLedger>();
        public OrgBilling OrgBilling => Scope.Get<OrgBilling>();
    }

    static async Task<IResult> Handle([AsParameters] ChatRequest r)
    {
        try
        {
            return await HandleAsync(r);
        }
        catch (Exception e) when (!r.Context.Response.HasStarted && DatabaseUnavailable.Is(e))
        {
            // The gates could not reach the database: nothing was forwarded or billed, so the client may simply retry.
            DatabaseUnavailable.ForgetConnections(r.Db.Database.GetDbConnection(), e);
            r.Log.LogWarning("chat completion refused, database unavailable: {Error}", e.Message);
            return DatabaseUnavailable.Result(r.Context.Response);
        }
        catch (Exception e) when (!r.Context.Response.HasStarted && !r.Cancellation.IsCancellationRequested)
        {
            // api.md §2.5.3 step 11: a failure before the provider answered gets upstream's body, not a ProblemDetails.
            r.Log.LogError(e, "chat completion failed before the provider answered");
            return Errors.InternalError();
        }
    }

    static async Task<IResult> HandleAsync(ChatRequest r)
    {
        var (context, ct) = (r.Context, r.Cancellation);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var startedAt = r.Clock.GetUtcNow().UtcDateTime;
        var request = context.Request;
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJsonMessage();

        var caller = Caller.Of(context);
        if (caller.User is not { } user) return caller.Unauthorized();

        // A plain OpenAI request has no codebuff_metadata; one that sends it speaks the Codebuff protocol and names its run.
        var plain = !body.ContainsKey("codebuff_metadata");
        var metadata = body["codebuff_metadata"] as JsonObject;
        string? runId = null;
        if (!plain && (metadata?["run_id"] is not JsonValue runIdNode || !runIdNode.TryGetValue<string>(out runId)))
            return Message(400, "No runId found in request body");
        // The model and fan-out are checked before the gate, which needs them to size the call's hold.
        if (body["model"] is not JsonValue m || !m.TryGetValue<string>(out var model)) return Message(400, "model is required");
        var n = 1;
        if (metadata?["n"] is { } nNode)
        {
            // [our choice] a bound on the fan-out, so one request cannot start an unbounded number of provider calls.
            if (nNode is not JsonValue nv || !nv.TryGetValue<double>(out var nd) || nd != Math.Floor(nd) || nd is < 1 or > MaxFanOut)
                return Message(400, $"codebuff_metadata.n must be an integer from 1 to {MaxFanOut}");
            n = (int)nd;
        }
        var serving = r.Routes.Serving(model);
        if (serving.Count == 0)
            return ModelNotFound(r.Routes.ListedUnpriced(model)
                ? $"The model '{model}' has no price in this server's table, so it cannot be billed. GET /api/v1/models lists the models served."
                : $"No configured provider serves the model '{model}'. GET /api/v1/models lists the models served.");
        // The caller's own key comes in the header of the first provider's kind (an OpenRouter key is no use to Anthropic).
        var byokHeader = ProviderDialect.ByokHeader(serving[0].Kind);
        string? headerKey = null;
        if (request.Headers.TryGetValue(byokHeader, out var byok))
        {
            if (string.IsNullOrWhiteSpace(byok.ToString())) return Message(400, $"The {byokHeader} header is empty: send your own key in it, or leave it out.");
            // [our choice] only a provider that checks keys makes a header key the caller's own (BYOK, unbilled);
            // for one that checks nothing the header is ignored and the call billed as usual.
            if (serving[0].ChecksKeys) headerKey = byok.ToString();
        }
        var keyTypes = headerKey is null ? r.Routes.KeyTypesFor(serving) : [];
        var storedKeys = keyTypes.Count > 0 ? await ByokEndpoints.ReadKeysAsync(r.Db, r.Cipher, user.Id, keyTypes, ct) : new Dictionary<string, string>();
        var routes = ProviderRoutes.Plan(serving, headerKey, storedKeys);

        if (!plain) return await GatedAsync(r, body, metadata!, user, runId!, model, n, routes, started, startedAt, _ => { });
        // [our choice] the run is started only once the request is known to be well-formed: a refused body leaves no run.
        // The gate reads the run in its one statement, so the run exists before it; a call the gate then refuses
        // (rate limit, credits) deletes it again.
        runId = await PlainRuns.StartAsync(r.Db, user.Id, startedAt, ct);
        ProxyCall? call = null;
        try
        {
            return await GatedAsync(r, body, new JsonObject(), user, runId, model, n, routes, started, startedAt, c => call = c);
        }
        finally
        {
            try
            {
                if (call is { Refused: true }) await PlainRuns.DeleteAsync(r.Db, runId, user.Id);
                else await PlainRuns.FinishAsync(r.Db, runId, user.Id, call, r.Clock.GetUtcNow().UtcDateTime);
            }
            // Never in place of the call's own answer: a run left running is only a run not finished.
            catch (Exception e) { r.Log.LogWarning("could not finish plain request run {RunId}: {Error}", runId, e.Message); }
        }
    }

    /// <summary>The gate (run, rate limit, hold), then <see cref="AdmittedAsync"/>; <paramref name="admitted"/> sees the call once it exists.</summary>
    static async Task<IResult> GatedAsync(ChatRequest r, JsonObject body, JsonObject metadata, User user, string runId, string model, int n,
        IReadOnlyList<ProviderRoute> routes, long started, DateTime startedAt, Action<ProxyCall> admitted)
    {
        var (context, ct) = (r.Context, r.Cancellation);
        var freeMode = metadata["cost_mode"] is JsonValue cm && cm.TryGetValue<string>(out var mode) && mode == "free";
        var byokCall = routes[0].Byok;
        var options = r.ChatOptions.Value;

        // [our choice, api.md §7.9] codebuff_metadata.repo_url bills the call to the org that approved the repository;
        // an org that cannot pay refuses it rather than falling back to the member's own credits.
        var org = await r.OrgBilling.PayerAsync(user.Id, metadata["repo_url"] is JsonValue ru && ru.TryGetValue<string>(out var repoUrl) ? repoUrl : null, ct);
        var payer = org is null ? LedgerOwner.User(user.Id) : LedgerOwner.Org(org.OrgId);
        var limitReached = org is not null && !freeMode && await r.OrgBilling.LimitReachedAsync(org.OrgId, ct);
        var reset = user.NextQuotaReset;
        if (!freeMode && org is null && (reset is null || reset <= startedAt))
            // The period is over: the lazy monthly reset runs first, so the gate counts the new period's free credits.
            reset = (await r.Ledger.GetUsageAsync(payer, ct)).NextQuotaReset;

        // A free call costs nothing and a BYOK call deducts nothing: neither holds credits. [our choice] free mode is
        // claimed here and checked against the run's agent after the gate; a claim refused there took no hold.
        var hold = freeMode || byokCall || limitReached ? 0 : Hold(body, model, n, context.Request.ContentLength, options);
        var callId = Guid.NewGuid();
        // The authentication handler found the user (in its cache, or in one query); one more reads the run and the
        // payer's credits, takes a rate-limit token and the call's hold.
        var bucket = r.Limiter.BucketOf(user.Id);
        // Not cancelled with the request: a gate stopped after its COMMIT would leave a hold nobody releases.
        var gate = await ChatGate.ReadAsync(r.Db, user.Id, runId, payer, callId, hold,
            r.Holds.Lease(TimeSpan.FromSeconds(r.Upstream.Value.TimeoutSeconds)), startedAt, bucket, CancellationToken.None);
        if (gate.RunAgentId is null) return Message(400, $"runId Not Found: {runId}");
        if (gate.RunStatus != AgentRunStatus.Running) return Message(400, $"runId Not Running: {runId}");
        // Nothing below may return without releasing the hold, unless the call was charged (its charge releases it).
        // Until then it is kept from expiring however long the call relays.
        using var kept = gate.Credits.Taken ? r.Holds.Keep(callId) : null;
        var call = new ProxyCall(callId,
            UserId: user.Id, RunId: runId, AgentId: gate.RunAgentId, Model: model,
            ClientId: metadata["client_id"] is JsonValue c && c.TryGetValue<string>(out var clientId) ? clientId : null,
            Byok: byokCall, FreeMode: freeMode, StartedAt: startedAt, N: freeMode ? Math.Min(n, options.FreeModeMaxN) : n, Org: org, FanOut: n > 1)
        { Routes = routes, Telemetry = new(started) };
        admitted(call);
        if (gate.Credits.Taken) Instruments.ReservationsInFlight.Add(1);
        try
        {
            return await AdmittedAsync(r, body, call, gate, reset, limitReached);
        }
        finally
        {
            if (gate.Credits.Taken && !call.Charged) await Reservations.ReleaseAsync(r.Db, callId, r.Log);
            if (gate.Credits.Taken) Instruments.ReservationsInFlight.Add(-1);
            // Ended already unless an exception left the handler: that is the 500 (or a client gone) it becomes.
            call.Telemetry.End(500);
        }
    }

    /// <summary>The checks after the gate (free mode, rate limit, credits), then the provider.</summary>
    static async Task<IResult> AdmittedAsync(ChatRequest r, JsonObject body, ProxyCall call, ChatGate gate, DateTime? reset, bool limitReached)
    {
        var context = r.Context;
        // [our choice, api.md §7.2] newest upstream: free mode only for allow-listed agent/model pairs.
        if (call.FreeMode && !FreeMode.IsAllowed(call.AgentId, call.Model))
            return Refused(call, 403, Instruments.Reasons.FreeModeInvalid, Errors.Coded(403, "free_mode_invalid_agent_model", "Free mode is only available for specific agent and model combinations."));

        // [our choice] the token was taken with the run checks, so a call refused just above for free mode used one.
        if (!gate.TokenTaken)
        {
            var seconds = (int)Math.Ceiling(r.Limiter.BucketOf(call.UserId).RetryAfter.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Refused(call, 429, Instruments.Reasons.RateLimit, Errors.Coded(429, "rate_limit_exceeded",
                $"Too many requests: at most {r.ChatOptions.Value.RateLimitPerMinute} chat completions per minute. Try again in {seconds} second{(seconds == 1 ? "" : "s")}."));
        }

        // The gate admits while the payer's balance less the credits held by its calls in flight is positive, and took
        // this call's hold in the same transaction; the charge, once the provider has answered, releases it. Calls in
        // flight can still end below zero by what they cost beyond their holds, never by an unbounded number of calls.
        var credits = gate.Credits;
        if (!call.FreeMode && call.Org is not null)
        {
            if (credits.TotalRemaining <= 0) return Refused(call, 402, Instruments.Reasons.OutOfCredits, Message(402, OrgBilling.InsufficientCredits));
            if (limitReached) return Refused(call, 402, Instruments.Reasons.OrgLimit, Message(402, OrgBilling.LimitReached));
            if (credits.Available <= 0) return Refused(call, 402, Instruments.Reasons.CreditsHeld, Message(402, credits.HeldMessage(org: true)));
        }
        if (!call.FreeMode && call.Org is null)
        {
            if (credits.TotalRemaining <= 0)
                return Refused(call, 402, Instruments.Reasons.OutOfCredits, Message(402, $"Out of credits. Please add credits at {r.Options.Value.AppUrl.TrimEnd('/')}/usage. Your free credits reset {Countdown(reset, r.Clock.GetUtcNow().UtcDateTime)}."));
            if (credits.Available <= 0) return Refused(call, 402, Instruments.Reasons.CreditsHeld, Message(402, credits.HeldMessage(org: false)));
        }

        // [our choice] free mode serves only the allowed model: the body's routing is replaced by ours and its size capped.
        if (call.FreeMode) FreeMode.Pin(body, r.ChatOptions.Value);
        var stream = body["stream"] is JsonValue st && st.TryGetValue<bool>(out var s) && s;
        // The first provider the call is routed to; a fallback shows as the HttpClient span of the next one.
        var provider = call.Routes[0].Provider;
        call.Telemetry.Begin(call.Model, provider.Kind, provider.BaseUrl, stream,
            body["max_tokens"] is JsonValue mt && mt.TryGetValue<int>(out var max) ? max : null);
        // The gates are passed: the call's database context goes back to the pool while the provider answers.
        await r.Scope.ReleaseAsync();
        var result = stream ? await r.Relay.StreamAsync(context, body, call) : await r.Proxy.CompleteAsync(body, call);
        call.Telemetry.End(result is IStatusCodeHttpResult { StatusCode: { } status } ? status : 200);
        return result;
    }

    static IResult Refused(ProxyCall call, int status, string reason, IResult answer)
    {
        call.Refused = true;
        Instruments.Refused(status, reason);
        return answer;
    }

    /// <summary>
    /// The credits a call holds while in flight: its input (estimated from the body's size) and min(max_tokens,
    /// ReservedOutputTokens) output tokens at the model's price, for each answer asked for (codebuff_metadata.n × the
    /// body's n).
    /// </summary>
    static int Hold(JsonObject body, string model, int fanOut, long? contentLength, ChatOptions options)
    {
        static long? Positive(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) && d >= 1 ? (long)Math.Min(d, int.MaxValue) : null;
        // The larger of the two limits: a body naming both must not hold for the smaller while the provider honours the other.
        var limits = new[] { Positive(body["max_tokens"]), Positive(body["max_completion_tokens"]) }.OfType<long>().ToArray();
        var maxTokens = limits.Length > 0 ? limits.Max() : options.ReservedOutputTokens;
        var choices = Math.Min(Positive(body["n"]) ?? 1, 128);
        var bytes = contentLength ?? System.Text.Encoding.UTF8.GetByteCount(body.ToJsonString());
        return (int)Math.Min(int.MaxValue, (long)fanOut * CreditPricing.ReservedCredits(model, CreditPricing.EstimateInputTokens(bytes),
            Math.Min(maxTokens, options.ReservedOutputTokens) * choices));
    }

    const int MaxFanOut = 10;

    static JsonHttpResult<ModelEndpoints.ModelNotFound> ModelNotFound(string message) => ModelEndpoints.NotFound(message);

    static MessageResult Message(int status, string message) => Errors.Message(status, message);

    /// <summary>"in N day(s)/hour(s)/minute(s)" (largest whole unit, at least 1 minute) or "soon" (api.md §2.5.3 step 9).</summary>
    public static string Countdown(DateTime? reset, DateTime now)
    {
        if (reset is null || reset <= now) return "soon";
        var left = reset.Value - now;
        static string Unit(int n, string unit) => $"in {n} {unit}{(n == 1 ? "" : "s")}";
        if (left.TotalDays >= 1) return Unit((int)left.TotalDays, "day");
        if (left.TotalHours >= 1) return Unit((int)left.TotalHours, "hour");
        return Unit(Math.Max(1, (int)left.TotalMinutes), "minute");
    }
}
