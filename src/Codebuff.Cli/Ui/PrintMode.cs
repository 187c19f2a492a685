using System.Text.Json;
using Codebuff.Cli.Runs;

namespace Codebuff.Cli.Ui;

/// <summary>
/// <c>codebuff -p</c>: runs one prompt and prints the final answer, or with <c>--json</c> one JSON event per line.
/// Exit codes: 0 completed, 1 failed, 2 stopped at --max-credits, 130 cancelled; login/credit/network problems have their own.
/// </summary>
public static class PrintMode
{
    // Plain UTF-8 for people and scripts reading the lines: quotes, <, > and non-ASCII text as themselves, not \u0022.
    static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task<int> RunAsync(CliHost host, PromptRunner runner, string prompt, bool json, CancellationToken ct)
    {
        Action<RunEvent> sink = json ? e => WriteJson(host, e) : _ => { };
        RunCompleted done;
        try
        {
            done = await runner.RunAsync(prompt, sink, ct);
        }
        catch (CliException e)
        {
            var explained = await runner.ExplainAsync(e);
            if (json) WriteLine(host, new { type = "error", message = explained.Message, exitCode = explained.ExitCode });
            throw explained;
        }
        if (!json && done.Output is { Length: > 0 } output) host.Out.WriteLine(output);
        if (done.Status == "completed") return 0;
        host.Error.WriteLine(done.Error ?? $"The run {done.Status}.");
        return done.Status == "cancelled" ? done.Error?.StartsWith("Stopped", StringComparison.Ordinal) == true ? 2 : 130 : 1;
    }

    static void WriteJson(CliHost host, RunEvent e) => WriteLine(host, e);

    static void WriteLine<T>(CliHost host, T value)
    {
        host.Out.WriteLine(JsonSerializer.Serialize(value, Json));
        host.Out.Flush();
    }
}
