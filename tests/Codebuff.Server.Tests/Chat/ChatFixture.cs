using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Chat;

/// <summary>The server pointed at a <see cref="FakeUpstream"/>, with short heartbeat and idle timeouts.</summary>
public class ChatFixture : ServerFixture
{
    public FakeUpstream Upstream { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:BaseUrl"] = Upstream.BaseUrl;
        s["Codebuff:Upstream:ApiKey"] = "server-provider-key";
        // The fake reports each call's cost, as OpenRouter does; its models ("test/model") are not in our price table.
        s["Codebuff:Upstream:ReportsCost"] = "true";
        s["Codebuff:Upstream:IdleTimeoutSeconds"] = "1.5";
        s["Codebuff:Upstream:TimeoutSeconds"] = "10";
        s["Codebuff:Chat:HeartbeatSeconds"] = "0.2";
        s["Codebuff:Byok:MasterKey"] = "0123456789abcdef0123456789abcdef";
        return s;
    }

    public override async Task InitializeAsync()
    {
        await Upstream.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>START through the API, as the SDK does (JSON body labelled text/plain).</summary>
    public async Task<string> StartRunAsync(HttpClient client, string agentId = "greeter", params string[] ancestors)
    {
        var body = new JsonObject { ["action"] = "START", ["agentId"] = agentId, ["ancestorRunIds"] = new JsonArray(ancestors.Select(a => (JsonNode)a!).ToArray()) };
        var response = await client.PostAsync("/api/v1/agent-runs", new StringContent(body.ToJsonString()));
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!;
    }

    public static JsonObject ChatBody(string model, string runId, bool stream = true) => new()
    {
        ["model"] = model, ["stream"] = stream, ["max_tokens"] = 32000,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "hi", ["cache_control"] = new JsonObject { ["type"] = "ephemeral" } }) }),
        ["codebuff_metadata"] = new JsonObject { ["run_id"] = runId, ["client_id"] = "client-1", ["cost_mode"] = "normal" },
        ["provider"] = new JsonObject { ["allow_fallbacks"] = true },
    };
}
