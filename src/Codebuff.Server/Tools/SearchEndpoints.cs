using Codebuff.Server.Billing;
using Codebuff.Server.Orgs;

namespace Codebuff.Server.Tools;

/// <summary>
/// POST /api/v1/web-search and /api/v1/docs-search (api.md §2.7–2.8): body first, then auth, credit check, provider,
/// charge. Costs are the Dec-2025 ones (web standard 1, deep 5, docs 1). [our choice] the charge is made after the
/// provider answered with a result, so a failed or empty search costs nothing, and a search whose caller hung up is
/// still charged once the provider answered.
/// </summary>
public static class SearchEndpoints
{
    public const string HttpClientName = "search-provider";

    /// <summary>How long a search provider may take; a search's hold outlives it by the holds' slack (<see cref="HoldKeeper"/>).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(25);
    public const int WebStandardCredits = 1, WebDeepCredits = 5, DocsCredits = 1;

    public static void Map(IEndpointRouteBuilder app)
    {
        // The body is checked before the token (upstream's order), so the handler answers the 401 itself.
        var search = app.MapGroup("/api/v1").IdentifyCaller(CallerAuthentication.ApiKey, Unauthenticated.Tools).RefuseSuspended();
        search.MapPost("/web-search", WebSearch).Takes<SearchWire.WebRequest>().Answers<SearchWire.WebResult>()
            .RefusesWith<ErrorDetailsBody>(400).RefusesWith<SearchWire.InsufficientCredits>(402).Refuses(500).RefusesWith<CodedErrorBody>(503);
        search.MapPost("/docs-search", DocsSearch).Takes<SearchWire.DocsRequest>().Answers<SearchWire.DocsResult>()
            .RefusesWith<ErrorDetailsBody>(400).RefusesWith<SearchWire.InsufficientCredits>(402).Refuses(500).RefusesWith<CodedErrorBody>(503);
    }

    /// <summary>What both search handlers need, gathered by the framework.</summary>
    public readonly record struct SearchRequest(
        HttpRequest Request, AppDbContext Db, CreditLedger Ledger, OrgBilling OrgBilling, ChargeQueue Charges, IHttpClientFactory Http,
        IOptions<SearchOptions> Options, TimeProvider Clock, ILoggerFactory Logs, HoldKeeper Holds, CancellationToken Cancellation);

    static async Task<Results<Ok<SearchWire.WebResult>, JsonHttpResult<SearchWire.InsufficientCredits>, CodedResult, ErrorResult, DetailsResult, MessageResult>> WebSearch([AsParameters] SearchRequest r)
    {
        if (await RequestJson.ReadAsync(r.Request, r.Cancellation) is not JsonObject body) return Errors.InvalidJson();
        var errors = new BodyErrors();
        var query = errors.String(body, "query", required: true, minLength: 1);
        var depth = errors.Enum(body, "depth", false, "standard", "deep") ?? "standard";
        var repoUrl = RepoUrl(body, errors);
        if (errors.Any) return errors.ToResult();

        var cost = depth == "deep" ? WebDeepCredits : WebStandardCredits;
        return await RunAsync(r, repoUrl, SearchProviders.Web(r.Options.Value, query!, depth), (found, used, error) => new SearchWire.WebResult(found, used, error), cost, "web-search",
            notConfigured: "Web search is not configured on this server (set Codebuff:Search:Linkup:ApiKey, or Codebuff:Search:WebBaseUrl for a server of our own contract).",
            empty: $"No search results found for \"{query}\"", failure: "Error performing web search");
    }

    static async Task<Results<Ok<SearchWire.DocsResult>, JsonHttpResult<SearchWire.InsufficientCredits>, CodedResult, ErrorResult, DetailsResult, MessageResult>> DocsSearch([AsParameters] SearchRequest r)
    {
        if (await RequestJson.ReadAsync(r.Request, r.Cancellation) is not JsonObject body) return Errors.InvalidJson();
        var errors = new BodyErrors();
        var library = errors.String(body, "libraryTitle", required: true, minLength: 1);
        var topic = errors.String(body, "topic", required: false);
        var maxTokens = errors.Number(body, "maxTokens", false, 1, int.MaxValue, integer: true);
        var repoUrl = RepoUrl(body, errors);
        if (errors.Any) return errors.ToResult();

        var provider = SearchProviders.Docs(r.Options.Value, library!, topic, maxTokens is { } m ? (int)m : null);
        return await RunAsync(r, repoUrl, provider, (found, used, error) => new SearchWire.DocsResult(found, used, error), DocsCredits, "docs-search",
            notConfigured: "Documentation search is not configured on this server (set Codebuff:Search:Context7:ApiKey, or Codebuff:Search:DocsBaseUrl for a server of our own contract).",
            empty: $"No documentation found for \"{library}\"{(string.IsNullOrEmpty(topic) ? "" : $" with topic \"{topic}\"")}",
            failure: "Error fetching documentation");
    }

    static async Task<Results<Ok<TAnswer>, JsonHttpResult<SearchWire.InsufficientCredits>, CodedResult, ErrorResult, DetailsResult, MessageResult>> RunAsync<TAnswer>(
        SearchRequest r, string? repoUrl, SearchCall? provider, Func<string?, int?, string?, TAnswer> answer,
        int cost, string operation, string notConfigured, string empty, string failure)
    {
        var (db, ct) = (r.Db, r.Cancellation);
        var log = r.Logs.CreateLogger(typeof(SearchEndpoints));
        var caller = Caller.Of(r.Request.HttpContext);
        if (caller.User is not { } user) return caller.Unauthorized<MessageResult>();
        // A repository an org of the caller's approved is charged to that org (api.md §7.9), never silently to the caller.
        // The search holds its price while in flight (Ledger/Reservations.cs), so concurrent searches cannot spend
        // credits the owner does not have; the charge releases the hold, and so does a search that ends uncharged.
        OrgBilling.Payer? payer;
        var callId = Guid.NewGuid();
        try
        {
            payer = await r.OrgBilling.PayerAsync(user.Id, repoUrl, ct);
            var owner = payer is null ? LedgerOwner.User(user.Id) : LedgerOwner.Org(payer.OrgId);
            var limitReached = payer is not null && await r.OrgBilling.LimitReachedAsync(payer.OrgId, ct, cost);
            // Not cancelled with the request: a take stopped after its COMMIT would leave a hold nobody releases.
            var credits = await Reservations.TakeAsync(db, owner, callId, limitReached ? 0 : cost, required: cost, r.Holds.Lease(Timeout),
                r.Clock.GetUtcNow().UtcDateTime, CancellationToken.None);
            if (!credits.Taken || limitReached)
            {
                var message = credits.TotalRemaining < Math.Max(1, cost) ? (payer is null ? "Insufficient credits" : OrgBilling.InsufficientCredits)
                    : limitReached ? OrgBilling.LimitReached
                    : credits.HeldMessage(org: payer is not null);
                var reset = payer is not null ? null : await db.Users.AsNoTracking().Where(u => u.Id == user.Id).Select(u => u.NextQuotaReset).FirstOrDefaultAsync(ct);
                return TypedResults.Json(new SearchWire.InsufficientCredits(message, credits.TotalRemaining, cost, reset), statusCode: 402);
            }
        }
        catch (Exception e) when (DatabaseUnavailable.Is(e))
        {
            DatabaseUnavailable.ForgetConnections(db.Database.GetDbConnection(), e);
            return DatabaseUnavailable.Result(r.Request.HttpContext.Response);
        }

        var charged = false;
        try
        {
            if (provider is null) return Errors.Coded(503, notConfigured, notConfigured);
            string? result;
            try
            {
                // Not cancelled when the caller hangs up: the provider answers (and bills us) anyway, so the answer is
                // waited for and charged; the client's Timeout bounds the wait.
                result = await provider(r.Http.CreateClient(HttpClientName), CancellationToken.None);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or NotSupportedException)
            {
                log.LogWarning("{Operation} provider failed: {Error}", operation, e.Message);
                return Errors.Error(500, failure);
            }
            if (string.IsNullOrEmpty(result)) return TypedResults.Ok(answer(null, null, empty));

            // The charge leaves a message row (model = the operation, response = what was found), like an LLM call, so
            // every consumed credit has its record; the queue writes it exactly once even if the database is struggling.
            // It carries the hold's call id, so its transaction releases the hold.
            var now = r.Clock.GetUtcNow().UtcDateTime;
            await r.Charges.SubmitAsync(new Charge(callId, user.Id, OrgId: payer?.OrgId, ProviderId: "", FinishedAt: now, ClientId: null,
                ClientRequestId: null, Model: operation, AgentId: null, ReasoningText: null,
                Response: JsonSerializer.Serialize(Charge.Clean(Chat.ChatBilling.Cap(result))), InputTokens: 0, CacheReadInputTokens: 0,
                ReasoningTokens: null, OutputTokens: 0, Cost: (decimal)Chat.CreditPricing.ReportedCost(cost), Credits: cost, Byok: false,
                LatencyMs: null, Deduct: true)
            { RepoUrl = payer?.RepoUrl }.Cleaned());
            charged = true;
            return TypedResults.Ok(answer(result, cost, null));
        }
        finally
        {
            if (!charged) await Reservations.ReleaseAsync(db, callId, log);
        }
    }

    static string? RepoUrl(JsonObject body, BodyErrors errors)
    {
        var url = errors.String(body, "repoUrl", required: false);
        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out _)) errors.Add("Invalid url", "repoUrl");
        return url;
    }

}
