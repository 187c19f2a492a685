using System.Diagnostics;

namespace Codebuff.Server.Tests.Chat;

/// <summary>
/// The official <c>openai</c> npm package (tests/openai-client, installed by run-tests.sh with npm ci) against the
/// server: models listed and retrieved, a plain non-streamed and a plain streamed completion, each billed once.
/// </summary>
public sealed class OpenAiClientTests(GatewayFixture server) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task The_official_openai_sdk_lists_models_and_makes_plain_calls_billed_once_each()
    {
        var user = await server.CreateUserAsync(1000);
        var output = await RunAsync(new Uri(server.BaseAddress, "/api/v1").ToString(), user.ApiKey, "openai/gpt-4o-mini");
        var result = JsonNode.Parse(output)!;

        var listed = result["listed"]!.AsArray();
        Assert.Contains(listed, m => (string?)m!["id"] == "exact/listed-model" && (string?)m["object"] == "model");
        Assert.Contains(listed, m => (string?)m!["id"] == "openai/gpt-4o-mini" && (string?)m["owned_by"] == "openai");
        Assert.Equal("openai/gpt-4o-mini", (string?)result["retrieved"]!["id"]);
        Assert.Equal(0.15, (double)result["retrieved"]!["pricing"]!["input_usd_per_million"]!);

        Assert.Equal("Hello there", (string?)result["completion"]!["content"]);
        Assert.Equal("Hello from the fake provider.", (string?)result["stream"]!["content"]);
        Assert.Equal(1000, (int)result["stream"]!["usage"]!["prompt_tokens"]!);
        Assert.Equal("""{"status":404,"code":"model_not_found","type":"NotFoundError"}""", result["refused"]!.ToJsonString());

        var messages = await server.WaitForMessagesAsync(user.Id, 2);
        Assert.Equal(2, messages.Count);
        Assert.Equal(new[] { (string)result["completion"]!["id"]!, (string)result["stream"]!["id"]! }.Order(), messages.Select(m => m.Id).Order());
        Assert.All(messages, m => Assert.Equal(("openai-api", 1), (m.AgentId, m.Credits)));
        Assert.Equal(998, await server.BalanceAsync(user.Id));
    }

    static async Task<string> RunAsync(params string[] args)
    {
        var folder = FindClientFolder();
        Assert.True(File.Exists(Path.Combine(folder, "node_modules", "openai", "package.json")),
            $"the openai package is not installed: run `npm ci` in {folder} (run-tests.sh does)");
        var start = new ProcessStartInfo("node", ["openai-client.mjs", .. args])
        {
            WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node failed: {await error}");
        return await output;
    }

    static string FindClientFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var folder = Path.Combine(dir.FullName, "tests", "openai-client");
            if (File.Exists(Path.Combine(folder, "openai-client.mjs"))) return folder;
        }
        throw new InvalidOperationException("tests/openai-client not found above " + AppContext.BaseDirectory);
    }
}
