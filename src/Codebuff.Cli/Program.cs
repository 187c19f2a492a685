using Codebuff.Cli;

// Ctrl+C stops the run in progress (it is FINISHed as cancelled); with no run, or pressed again, it ends the CLI.
using var cancel = new CancellationTokenSource();
var interrupts = new InterruptHub();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    if (!interrupts.Raise()) cancel.Cancel();
};
return await CliApp.RunAsync(args, CliHost.FromProcess(cancel.Token, interrupts));
