using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Contracts;

namespace Codebuff.Cli.Api;

/// <summary>
/// Every HTTP call the CLI makes to the Codebuff server (api.md). Failures become <see cref="CliException"/>s whose
/// message is a sentence for the user (<see cref="ApiErrors"/>).
/// </summary>
public sealed class CodebuffApi : IDisposable
{
    // Optional fields are left out rather than sent as null: the server's schemas (like zod's optional()) refuse null.
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    readonly HttpClient _http;
    ActivityTraceId _trace = ActivityTraceId.CreateRandom();

    public CodebuffApi(string appUrl, string? token, HttpMessageHandler? handler = null)
    {
        AppUrl = appUrl.TrimEnd('/');
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = new Uri(AppUrl + "/");
        _http.Timeout = Timeout.InfiniteTimeSpan;
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("codebuff-dotnet-cli/" + typeof(CodebuffApi).Assembly.GetName().Version);
    }

    public string AppUrl { get; }

    /// <summary>
    /// Starts a new user action (a prompt's run): its calls share one W3C trace id, so the server's spans of one action
    /// are one trace from the CLI to the provider. A new client starts one too. No exporter: the CLI only propagates.
    /// </summary>
    public void BeginAction() => _trace = ActivityTraceId.CreateRandom();

    /// <summary>The trace id of the action in progress (its calls' traceparent).</summary>
    public ActivityTraceId TraceId => _trace;

    public Task<CliLoginCode> StartLoginAsync(string fingerprintId, CancellationToken ct) =>
        PostAsync<CliLoginCode>("api/auth/cli/code", new { fingerprintId }, ct);

    /// <summary>One poll: the user when the browser leg is done, null while the server still says 401.</summary>
    public async Task<CliUser?> PollLoginAsync(CliLoginCode code, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get,
            $"api/auth/cli/status?fingerprintId={Uri.EscapeDataString(code.FingerprintId)}&fingerprintHash={code.FingerprintHash}&expiresAt={code.ExpiresAt}"), ct);
        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized) return null;
        await ApiErrors.ThrowIfFailedAsync(response, AppUrl, ct);
        return (await response.Content.ReadFromJsonAsync<CliLoginStatus>(Json, ct))!.User;
    }

    public Task LogoutAsync(CliUser user, CancellationToken ct) =>
        PostAsync<JsonObject>("api/auth/cli/logout", new { userId = user.Id, fingerprintId = user.FingerprintId, fingerprintHash = user.FingerprintHash }, ct);

    public Task<JsonObject> MeAsync(CancellationToken ct) =>
        GetAsync<JsonObject>("api/v1/me?fields=id,email", ct);

    public Task<UsageResponse> UsageAsync(string? orgId, CancellationToken ct) =>
        PostAsync<UsageResponse>("api/v1/usage", new { fingerprintId = "cli-usage", orgId }, ct);

    public async Task<string> StartRunAsync(string agentId, IReadOnlyList<string> ancestorRunIds, CancellationToken ct) =>
        (await PostAsync<AgentRunStarted>("api/v1/agent-runs", new AgentRunStart(agentId, ancestorRunIds), ct)).RunId;

    public Task FinishRunAsync(AgentRunFinish finish, CancellationToken ct) =>
        PostAsync<JsonObject>("api/v1/agent-runs", finish, ct);

    public Task AddStepAsync(string runId, AgentStepRecord step, CancellationToken ct) =>
        PostAsync<JsonObject>($"api/v1/agent-runs/{Uri.EscapeDataString(runId)}/steps", step, ct);

    /// <summary>A published definition, or null when the server has no such agent (404).</summary>
    public async Task<PublishedAgentVersion?> GetAgentAsync(string publisherId, string agentId, string? version, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get,
            $"api/v1/agents/{Uri.EscapeDataString(publisherId)}/{Uri.EscapeDataString(agentId)}/{Uri.EscapeDataString(version ?? "latest")}"), ct);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        await ApiErrors.ThrowIfFailedAsync(response, AppUrl, ct);
        return await response.Content.ReadFromJsonAsync<PublishedAgentVersion>(Json, ct);
    }

    public Task<ValidateAgentsResponse> ValidateAgentsAsync(ValidateAgentsRequest request, CancellationToken ct) =>
        PostAsync<ValidateAgentsResponse>("api/agents/validate", request, ct);

    /// <summary>Publishing answers its failures in a body of their own (error, details, hint…), which the caller prints.</summary>
    public async Task<PublishResponse> PublishAsync(PublishRequest request, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, "api/agents/publish") { Content = JsonContent.Create(request, options: Json) }, ct);
        if ((int)response.StatusCode is 401 or >= 500) await ApiErrors.ThrowIfFailedAsync(response, AppUrl, ct);
        return (await response.Content.ReadFromJsonAsync<PublishResponse>(Json, ct))!;
    }

    /// <summary>POST web-search / docs-search; their "nothing found" answers are 200 with an <c>error</c> field.</summary>
    public Task<JsonObject> SearchAsync(string path, object body, CancellationToken ct) => PostAsync<JsonObject>(path, body, ct);

    /// <summary>Starts a streaming chat completion; the caller reads the SSE body. Non-2xx answers throw.</summary>
    public async Task<HttpResponseMessage> StreamChatAsync(JsonObject body, string? byokKey, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        if (byokKey is not null) request.Headers.Add("x-openrouter-api-key", byokKey);
        var response = await SendAsync(request, ct, HttpCompletionOption.ResponseHeadersRead);
        try
        {
            await ApiErrors.ThrowIfFailedAsync(response, AppUrl, ct);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), ct);
        await ApiErrors.ThrowIfFailedAsync(response, AppUrl, ct);
        return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
    }

    async Task<T> PostAsync<T>(string path, object body, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, body.GetType(), options: Json) }, ct);
        await ApiErrors.ThrowIfFailedAsync(response, AppUrl, ct);
        return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
    }

    async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using (request)
        {
            // Each call is a span of the action's trace (sampled), whose id the server's request span names as its parent.
            if (!request.Headers.Contains("traceparent"))
                request.Headers.TryAddWithoutValidation("traceparent", $"00-{_trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            try
            {
                return await _http.SendAsync(request, completion, ct);
            }
            catch (HttpRequestException e)
            {
                throw ApiErrors.Unreachable(AppUrl, e);
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
