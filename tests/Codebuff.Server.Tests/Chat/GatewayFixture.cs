using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Chat;

/// <summary>
/// The server with a Codebuff:Providers list over two fake providers and a dead address. "primary" (priority 0)
/// fails models containing "-429", "-503" or "-401" with that status, and cuts off the non-streamed answer of models
/// containing "-broken"; "backup" (priority 1) answers everything.
/// "own-key" (KeyType openai) is the primary fake for "byok/*", which backup also serves on the server's key.
/// "dead" refuses connections for "conn/*", which backup serves after it.
/// "keyless" (no ApiKey: a self-hosted server that checks no key) serves "keyless/*".
/// </summary>
public class GatewayFixture : ServerFixture
{
    public FakeUpstream Primary { get; } = new()
    {
        Fails = m => m.Contains("-429") ? 429 : m.Contains("-503") ? 503 : m.Contains("-401") ? 401 : null,
        BreaksBody = m => m.Contains("-broken"),
    };
    public FakeUpstream Backup { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        void Provider(int i, string name, string baseUrl, string? key, int priority, string? keyType, params string[] models)
        {
            var p = $"Codebuff:Providers:{i}:";
            s[p + "Name"] = name;
            s[p + "Kind"] = "openai";
            s[p + "ReportsCost"] = "true"; // the fakes report cost; their models are not in our price table
            s[p + "BaseUrl"] = baseUrl;
            s[p + "ApiKey"] = key;
            s[p + "Priority"] = priority.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s[p + "KeyType"] = keyType;
            for (var m = 0; m < models.Length; m++) s[p + $"Models:{m}"] = models[m];
        }
        // Listed backup first: the order tried is the priority's, not the list's.
        Provider(0, "backup", Backup.BaseUrl, "backup-server-key", 1, null, "test/*", "conn/*", "byok/*", "openai/gpt-4o-mini");
        Provider(1, "primary", Primary.BaseUrl, "primary-server-key", 0, null, "test/*", "exact/listed-model");
        Provider(2, "own-key", Primary.BaseUrl, "own-key-server-key", 0, "openai", "byok/*");
        Provider(3, "dead", "http://127.0.0.1:1/v1", "dead-key", 0, null, "conn/*");
        Provider(4, "keyless", Backup.BaseUrl, null, 0, null, "keyless/*");
        s["Codebuff:Upstream:TimeoutSeconds"] = "10";
        s["Codebuff:Upstream:IdleTimeoutSeconds"] = "5";
        s["Codebuff:Byok:MasterKey"] = "0123456789abcdef0123456789abcdef";
        return s;
    }

    public override async Task InitializeAsync()
    {
        await Primary.StartAsync();
        await Backup.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Primary.DisposeAsync();
        await Backup.DisposeAsync();
    }

    /// <summary>A plain OpenAI request: no codebuff_metadata.</summary>
    public static JsonObject PlainBody(string model, bool stream = false) => new()
    {
        ["model"] = model, ["stream"] = stream, ["max_tokens"] = 100,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
    };
}
