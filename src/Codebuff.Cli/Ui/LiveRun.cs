using Codebuff.Cli.Runs;
using Spectre.Console;

namespace Codebuff.Cli.Ui;

/// <summary>
/// Runs a prompt while <c>AnsiConsole.Live</c> redraws its message tree. A question to the user (command approval,
/// ask_user) stops the live display, asks, and starts it again.
/// </summary>
public sealed class LiveRun(IAnsiConsole console, PromptRunner runner)
{
    sealed class PauseRequest
    {
        public TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    volatile PauseRequest? _pending;

    public async Task<RunCompleted> RunAsync(string prompt, CancellationToken ct)
    {
        runner.Prompter.Pause = PauseAsync;
        try
        {
            return await ShowAsync(prompt, ct);
        }
        finally
        {
            // Questions asked after this run (a !command's approval) have no live display to stop.
            runner.Prompter.Pause = ask => ask();
        }
    }

    async Task<RunCompleted> ShowAsync(string prompt, CancellationToken ct)
    {
        var tree = new MessageTree();
        var gate = new Lock();
        var run = runner.RunAsync(prompt, e => { lock (gate) tree.Apply(e); }, ct);
        // Without cursor control (output to a file or pipe) a live display would print every frame: show the result once.
        if (!console.Profile.Capabilities.Ansi || !console.Profile.Capabilities.Interactive)
        {
            try { return await run; }
            finally { console.Write(Render()); }
        }
        while (true)
        {
            PauseRequest? request = null;
            await console.Live(Render()).AutoClear(false).StartAsync(async ctx =>
            {
                while (!run.IsCompleted && (request = _pending) is null)
                {
                    await Task.WhenAny(run, Task.Delay(80, CancellationToken.None));
                    ctx.UpdateTarget(Render());
                }
                ctx.UpdateTarget(Render());
            });
            if (request is null) break;
            _pending = null;
            request.Stopped.SetResult();
            await request.Resume.Task;
        }
        return await run;

        Spectre.Console.Rendering.IRenderable Render()
        {
            // The runner adds a prompt's credits to the session total when the prompt completes.
            lock (gate) return TreeView.Render(tree, tree.Completed is null ? null : runner.SessionCredits);
        }
    }

    async Task PauseAsync(Func<Task> ask)
    {
        var request = new PauseRequest();
        _pending = request;
        await request.Stopped.Task;
        try { await ask(); }
        finally { request.Resume.SetResult(); }
    }
}
