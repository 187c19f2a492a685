using Codebuff.Cli.Config;
using Codebuff.Cli.Tools;
using Spectre.Console;

namespace Codebuff.Cli;

/// <summary><c>codebuff undo [run-id]</c>: puts back the files a run wrote (see <see cref="EditJournal"/>).</summary>
public static class UndoCommand
{
    public static int Run(CliHost host, string projectRoot, string? runId)
    {
        var edits = Path.Combine(Path.GetDirectoryName(new CliConfig(host).ChatsDir(projectRoot))!, "edits");
        var restored = EditJournal.Undo(edits, runId);
        host.Console.MarkupLineInterpolated($"Restored {restored.Count} file{(restored.Count == 1 ? "" : "s")}: {string.Join(", ", restored)}");
        return 0;
    }
}
