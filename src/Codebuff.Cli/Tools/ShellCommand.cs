using System.Diagnostics;

namespace Codebuff.Cli.Tools;

/// <summary>
/// A shell command run in the project, for the <c>run_terminal_command</c> tool and for the user's own <c>!cmd</c>:
/// the user's $SHELL (else /bin/sh) with <c>-c</c>, stdin closed, output captured. A timeout or a cancellation kills
/// the whole process tree.
/// </summary>
public static class ShellCommand
{
    public sealed record Result(string Stdout, string Stderr, int? ExitCode, bool TimedOut);

    public static Process Start(string command, string cwd)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } sh && File.Exists(sh) ? sh : "/bin/sh", ["-c", command])
        {
            WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        var process = Process.Start(psi)!;
        process.StandardInput.Close();
        return process;
    }

    /// <summary>Runs to the end (or until <paramref name="timeout"/>); a cancelled <paramref name="ct"/> kills it and throws.</summary>
    public static async Task<Result> RunAsync(string command, string cwd, TimeSpan? timeout, CancellationToken ct)
    {
        using var process = Start(command, cwd);
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } t) limit.CancelAfter(t);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            ct.ThrowIfCancellationRequested();
            return new Result(await stdout, await stderr, null, TimedOut: true);
        }
        return new Result(await stdout, await stderr, process.ExitCode, TimedOut: false);
    }
}
