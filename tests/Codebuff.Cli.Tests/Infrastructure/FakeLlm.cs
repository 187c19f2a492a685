using System.Diagnostics;

namespace Codebuff.Cli.Tests.Infrastructure;

/// <summary>
/// shared/acceptance/fake-llm.mjs on a free loopback port: an OpenAI-compatible provider whose answers the prompt
/// scripts with <c>[[tool:NAME {json}]]</c>, <c>[[spawn:AGENT]]</c> and <c>[[reply:TEXT]]</c>. Every request is logged.
/// </summary>
public sealed class FakeLlm : IAsyncDisposable
{
    Process? _node;

    public string BaseUrl { get; private set; } = "";
    public string LogPath { get; } = Path.Combine(Path.GetTempPath(), $"fake-llm-{Guid.NewGuid():N}.jsonl");

    public static string ScriptPath
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "acceptance", "fake-llm.mjs");
                if (File.Exists(candidate)) return candidate;
            }
            throw new FileNotFoundException("shared/acceptance/fake-llm.mjs was not found above the test folder.");
        }
    }

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("node", [ScriptPath, "0"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["FAKE_LLM_LOG"] = LogPath;
        _node = Process.Start(psi)!;
        _ = _node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await _node.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            if (line.StartsWith("FAKE_LLM_LISTENING ", StringComparison.Ordinal))
            {
                BaseUrl = line["FAKE_LLM_LISTENING ".Length..].Trim();
                return;
            }
        throw new InvalidOperationException("fake-llm.mjs exited before listening.");
    }

    /// <summary>Every request body the provider received so far.</summary>
    public IReadOnlyList<JsonObject> Requests() => File.Exists(LogPath)
        ? File.ReadAllLines(LogPath).Select(l => (JsonObject)JsonNode.Parse(l)!["body"]!).ToArray()
        : [];

    public async ValueTask DisposeAsync()
    {
        if (_node is { HasExited: false })
        {
            _node.Kill();
            await _node.WaitForExitAsync();
        }
        _node?.Dispose();
        File.Delete(LogPath);
    }
}
