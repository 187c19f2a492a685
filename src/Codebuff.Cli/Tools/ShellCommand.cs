using System.Collections.Concurrent;
using System.Diagnostics;

namespace Codebuff.Cli.Tools;

/// <summary>
/// A shell command run in the project, for the <c>run_terminal_command</c> tool and for the user's own <c>!cmd</c>:
/// the user's $SHELL (else /bin/sh) with <c>-c</c>, in the run's <see cref="Sandbox"/>, stdin closed, output captured.
/// A timeout or a cancellation kills the whole process tree.
/// </summary>
public static class ShellCommand
{
    /// <summary><paramref name="Hint"/>: the sandbox's line when it is the likely cause of a failure (see <see cref="Sandbox.Hint"/>).</summary>
    public sealed record Result(string Stdout, string Stderr, int? ExitCode, bool TimedOut, string? Hint = null)
    {
        /// <summary>stderr with the sandbox's hint as its last line, so the model and the user both read it.</summary>
        public string StderrWithHint => Hint is null ? Stderr : Stderr.Length == 0 || Stderr.EndsWith('\n') ? Stderr + Hint : Stderr + "\n" + Hint;
    }

    public static Process Start(Sandbox sandbox, string command, string cwd)
    {
        var process = Spawner.Start(sandbox.StartInfo(command, cwd));
        process.StandardInput.Close();
        return process;
    }

    /// <summary>Runs to the end (or until <paramref name="timeout"/>); a cancelled <paramref name="ct"/> kills it and throws.</summary>
    public static async Task<Result> RunAsync(Sandbox sandbox, string command, string cwd, TimeSpan? timeout, CancellationToken ct)
    {
        var absent = sandbox.AbsentGitRedirects();
        var privateGit = sandbox.GetsPrivateGit();
        using var process = Start(sandbox, command, cwd);
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
            await process.WaitForExitAsync(CancellationToken.None);
            sandbox.RemovePlanted(absent);
            sandbox.RemoveMountPoint(privateGit);
            ct.ThrowIfCancellationRequested();
            return new Result(await stdout, await stderr, null, TimedOut: true);
        }
        var (output, errors) = (await stdout, await stderr);
        sandbox.RemoveMountPoint(privateGit);
        var hints = new[] { sandbox.RemovePlanted(absent), sandbox.Hint(output + "\n" + errors, process.ExitCode) }.OfType<string>().ToArray();
        return new Result(output, errors, process.ExitCode, TimedOut: false, hints.Length == 0 ? null : string.Join('\n', hints));
    }

    /// <summary>
    /// Starts every command from one thread that lives as long as the CLI: bubblewrap's --die-with-parent follows the
    /// thread that started it (PR_SET_PDEATHSIG), and a pool thread retiring would kill a command still running.
    /// </summary>
    internal static class Spawner
    {
        static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> Queue = new();

        static Spawner() => new Thread(() =>
        {
            foreach (var (info, started) in Queue.GetConsumingEnumerable())
                try { started.SetResult(Process.Start(info)!); }
                catch (Exception e) { started.SetException(e); }
        })
        { IsBackground = true, Name = "command starter" }.Start();

        public static Process Start(ProcessStartInfo info)
        {
            var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
            Queue.Add((info, started));
            return started.Task.GetAwaiter().GetResult();
        }
    }
}
