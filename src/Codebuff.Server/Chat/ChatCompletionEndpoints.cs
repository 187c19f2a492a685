using System.Globalization;
using Codebuff.Server.Billing;
using Codebuff.Server.Orgs;

namespace Codebuff.Server.Chat;

/// <summary>POST /api/v1/chat/completions: the gates of api.md §2.5.3 in their order, then the proxy.</summary>
public static class ChatCompletionEndpoints
{
    public static void MapChatCompletions(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/v1/chat/completions", Handle).IdentifyCaller(CallerAuthentication.ApiKey, Unauthenticated.Tools) // body is checked first
            .CacheCaller().RefuseSuspended()
            .Takes<ChatWire.Request>().Answers<ChatWire.Completion>().RefusesWith<MessageBody>(400, 402).RefusesWith<CodedErrorBody>(403, 429, 503)
            .Refuses(500).RefusesWith<ChatWire.ProviderError>(502, 504);

    /// <summary>What the handler needs, gathered by the framework.</summary>
    public readonly record struct ChatRequest(
        HttpContext Context, AppDbContext Db, CreditLedger Ledger, OrgBilling OrgBilling, ChatRateLimiter Limiter, ChatProxy Proxy,
        SseRelay Relay, IOptions<ChatOptions> ChatOptions, IOptions<CodebuffOptions> Options, TimeProvider Clock, ILogger<ChatProxy> Log,
        CancellationToken Cancellation);

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
            return Results.Json(new { error = "Internal server error" }, statusCode: 500);
        }
    }

    static async Task<IResult> HandleAsync(ChatRequest r)
    {
        var (context, ct) = (r.Context, r.Cancellation);
        var startedAt = r.Clock.GetUtcNow().UtcDateTime;
        var request = context.Request;
        if (await RequestJson.ReadAsync(request, ct) is not JsonObject body) return Errors.InvalidJsonMessage();

        var caller = Caller.Of(context);
        if (caller.User is not { } user) return caller.Unauthorized();

        var metadata = body["codebuff_metadata"] as JsonObject;
        if (metadata?["run_id"] is not JsonValue runIdNode || !runIdNode.TryGetValue<string>(out var runId))
            return Message(400, "No runId found in request body");
        // The authentication handler found the user (in its cache, or in one query); one more reads the run and the balance and takes a
        // rate-limit token.
        var bucket = r.Limiter.BucketOf(user.Id);
        var gate = await ChatGate.ReadAsync(r.Db, user.Id, runId, startedAt, bucket, ct);
        if (gate.RunAgentId is null) return Message(400, $"runId Not Found: {runId}");
        if (gate.RunStatus != AgentRunStatus.Running) return Message(400, $"runId Not Running: {runId}");

        var model = body["model"] is JsonValue m && m.TryGetValue<string>(out var s) ? s : null;
        var freeMode = metadata["cost_mode"] is JsonValue cm && cm.TryGetValue<string>(out var mode) && mode == "free";
        // [our choice, api.md §7.2] newest upstream: free mode only for allow-listed agent/model pairs.
        if (freeMode && !CreditPricing.IsFreeModeAllowed(gate.RunAgentId, model ?? ""))
            return Results.Json(new { error = "free_mode_invalid_agent_model", message = "Free mode is only available for specific agent and model combinations." }, statusCode: 403);

        // [our choice] the token was taken with the run checks, so a call refused just above for free mode used one.
        if (!gate.TokenTaken)
        {
            var seconds = (int)Math.Ceiling(bucket.RetryAfter.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Results.Json(new
            {
                error = "rate_limit_exceeded",
                message = $"Too many requests: at most {r.ChatOptions.Value.RateLimitPerMinute} chat completions per minute. Try again in {seconds} second{(seconds == 1 ? "" : "s")}.",
            }, statusCode: 429);
        }

        // The credit gate reads the balance and holds no lock: the charge happens after the provider has answered,
        // serialised per owner by the ledger, so concurrent calls may take the balance below zero (debt), never double-bill.
        // [our choice, api.md §7.9] codebuff_metadata.repo_url bills the call to the org that approved the repository;
        // an org that cannot pay refuses it rather than falling back to the member's own credits.
        var org = await r.OrgBilling.PayerAsync(user.Id, metadata["repo_url"] is JsonValue ru && ru.TryGetValue<string>(out var repoUrl) ? repoUrl : null, ct);
        if (org is not null && !freeMode && await r.OrgBilling.RefusalAsync(org.OrgId, 0, ct) is { } refusal) return Message(402, refusal);
        if (!freeMode && org is null)
        {
            var remaining = gate.TotalRemaining;
            var reset = user.NextQuotaReset;
            if (reset is null || reset <= startedAt)
            {
                // The period is over: the lazy monthly reset runs first, so the new period's free credits count here.
                var usage = await r.Ledger.GetUsageAsync(LedgerOwner.User(user.Id), ct);
                (remaining, reset) = (usage.Balance.TotalRemaining, usage.NextQuotaReset);
            }
            if (remaining <= 0)
                return Message(402, $"Out of credits. Please add credits at {r.Options.Value.AppUrl.TrimEnd('/')}/usage. Your free credits reset {Countdown(reset, r.Clock.GetUtcNow().UtcDateTime)}.");
        }

        if (model is null) return Message(400, "model is required");
        var n = 1;
        if (metadata["n"] is { } nNode)
        {
            // [our choice] a bound on the fan-out, so one request cannot start an unbounded number of provider calls.
            if (nNode is not JsonValue nv || !nv.TryGetValue<double>(out var nd) || nd != Math.Floor(nd) || nd is < 1 or > MaxFanOut)
                return Message(400, $"codebuff_metadata.n must be an integer from 1 to {MaxFanOut}");
            n = (int)nd;
        }

        var call = new ProxyCall(
            UserId: user.Id, RunId: runId, AgentId: gate.RunAgentId, Model: model,
            ClientId: metadata["client_id"] is JsonValue c && c.TryGetValue<string>(out var clientId) ? clientId : null,
            ByokKey: request.Headers.TryGetValue("x-openrouter-api-key", out var byok) ? byok.ToString() : null,
            FreeMode: freeMode, StartedAt: startedAt, N: n, Org: org);
        return body["stream"] is JsonValue st && st.TryGetValue<bool>(out var stream) && stream
            ? await r.Relay.StreamAsync(context, body, call)
            : await r.Proxy.CompleteAsync(body, call);
    }

    const int MaxFanOut = 10;

    static IResult Message(int status, string message) => Errors.Message(status, message);

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
