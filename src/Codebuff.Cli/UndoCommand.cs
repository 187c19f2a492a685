using Codebuff.Cli.Config;
using Codebuff.Cli.Tools;
using Spectre.Console;

namespace Codebuff.Cli;

/// <summary><c>codebuff undo [run-id] [--yes]</c>: lists the files a run wrote and, once confirmed, puts them back (see <see cref="EditJournal"/>).</summary>
public static class UndoCommand
{
    public static int Run(CliHost host, string projectRoot, string? runId, bool yes)
    {
        var plan = EditJournal.PlanUndo(new CliConfig(host).EditsDir(projectRoot), projectRoot, runId);
        host.Console.MarkupLineInterpolated($"Undoing run {plan.RunId} in {projectRoot} will:");
        foreach (var f in plan.Files)
            host.Console.MarkupLineInterpolated($"  {(f.Delete ? "delete" : "restore")} {f.Relative}");
        if (!yes)
        {
            if (!host.Interactive)
                throw new CliException("Nothing was restored: run `codebuff undo --yes` to restore these files without being asked.");
            if (!host.Console.Confirm($"Restore {plan.Files.Count} file{(plan.Files.Count == 1 ? "" : "s")}?", false))
            {
                host.Console.MarkupLine("Nothing was restored.");
                return 1;
            }
        }
        plan.Apply();
        host.Console.MarkupLineInterpolated($"Restored {plan.Files.Count} file{(plan.Files.Count == 1 ? "" : "s")}: {string.Join(", ", plan.Files.Select(f => f.Relative))}");
        return 0;
    }
}
