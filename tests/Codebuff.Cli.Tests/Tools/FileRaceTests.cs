using System.Text;
using Codebuff.Cli.Tools;

namespace Codebuff.Cli.Tests.Tools;

/// <summary>
/// A path checked and then swapped for a link out of the project before it is used (as a command the model started, or
/// any racing process, could do): nothing outside is read, written or deleted. The swap is made deterministic through
/// <see cref="ProjectFiles.AfterCheck"/>, which runs between the check and the use.
/// </summary>
public sealed class FileRaceTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("cb-race-").FullName;
    readonly string _outside = Directory.CreateTempSubdirectory("cb-race-outside-").FullName;

    string Project(string relative) => Path.Combine(_root, relative);

    void Write(string relative, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Project(relative))!);
        File.WriteAllText(Project(relative), content);
    }

    string[] OutsideEntries() => Directory.EnumerateFileSystemEntries(_outside, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(_outside, p)).Order().ToArray();

    /// <summary>Replaces a project file or folder with a link to <paramref name="target"/> the first time the seam runs.</summary>
    ProjectFiles SwappingFiles(string relative, string target)
    {
        var files = new ProjectFiles(_root);
        files.AfterCheck = _ =>
        {
            files.AfterCheck = null;
            var path = Project(relative);
            if (Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null) Directory.Delete(path, recursive: true);
            else File.Delete(path);
            File.CreateSymbolicLink(path, target);
        };
        return files;
    }

    [Fact]
    public void A_folder_swapped_for_a_link_out_of_the_project_is_not_written_through()
    {
        Write("sub/keep.txt", "keep");
        var files = SwappingFiles("sub", _outside);

        var (_, _, refusal) = files.Write("sub/x.txt", Encoding.UTF8.GetBytes("planted"));

        Assert.Equal(ProjectFiles.Outside, refusal);
        Assert.Empty(OutsideEntries());
    }

    [Fact]
    public void A_folder_swapped_for_a_link_is_not_created_through_either()
    {
        Write("sub/keep.txt", "keep");
        var files = SwappingFiles("sub", _outside);

        var (_, _, refusal) = files.Write("sub/deeper/x.txt", Encoding.UTF8.GetBytes("planted"));

        Assert.Equal(ProjectFiles.Outside, refusal);
        Assert.Empty(OutsideEntries());
    }

    [Fact]
    public void A_file_swapped_for_a_link_out_of_the_project_is_not_read()
    {
        File.WriteAllText(Path.Combine(_outside, "id_token"), "OUTSIDE-SECRET");
        Write("notes.txt", "harmless");
        var files = SwappingFiles("notes.txt", Path.Combine(_outside, "id_token"));

        var (content, refusal) = files.Read("notes.txt");

        Assert.Null(content);
        Assert.Equal(ProjectFiles.Outside, refusal);
    }

    [Fact]
    public void A_file_swapped_for_a_link_out_of_the_project_is_not_written_through_and_its_content_not_shown()
    {
        var target = Path.Combine(_outside, "authorized_keys");
        File.WriteAllText(target, "ssh-ed25519 AAAA mine");
        Write("notes.txt", "harmless");
        var files = SwappingFiles("notes.txt", target);

        var (_, before, refusal) = files.Write("notes.txt", Encoding.UTF8.GetBytes("ssh-ed25519 AAAA attacker"));

        Assert.Equal(ProjectFiles.Outside, refusal);
        Assert.Null(before);
        Assert.Equal("ssh-ed25519 AAAA mine", File.ReadAllText(target));
    }

    [Fact]
    public void A_write_replaces_the_file_whole_and_keeps_its_mode()
    {
        Write("run.sh", "#!/bin/sh\necho old\n");
        File.SetUnixFileMode(Project("run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var files = new ProjectFiles(_root);

        var (full, before, refusal) = files.Write("run.sh", Encoding.UTF8.GetBytes("#!/bin/sh\necho new\n"));

        Assert.Null(refusal);
        Assert.Equal(Project("run.sh"), full);
        Assert.Equal("#!/bin/sh\necho old\n", Encoding.UTF8.GetString(before!));
        Assert.Equal("#!/bin/sh\necho new\n", File.ReadAllText(Project("run.sh")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Project("run.sh")));
        Assert.Equal("run.sh", Path.GetFileName(Assert.Single(Directory.EnumerateFileSystemEntries(_root))));
    }

    [Fact]
    public void Undo_refuses_a_file_since_turned_into_a_link_out_of_the_project()
    {
        var (journal, folder) = JournalOf(("keep.txt", "one", "two"));
        // A command copies the file out, with the same content, and links it back.
        var copy = Path.Combine(_outside, "copy.txt");
        File.Copy(Project("keep.txt"), copy);
        File.Delete(Project("keep.txt"));
        File.CreateSymbolicLink(Project("keep.txt"), copy);

        var error = Assert.Throws<CliException>(() => EditJournal.PlanUndo(folder, _root, journal.RunId).Apply());

        Assert.Contains("keep.txt", error.Message);
        Assert.Equal("two", File.ReadAllText(copy));
    }

    [Fact]
    public void Undo_does_not_delete_through_a_folder_since_turned_into_a_link_out_of_the_project()
    {
        var (journal, folder) = JournalOf(("made/new.txt", null, "made"));
        Directory.Move(Project("made"), Path.Combine(_outside, "made"));
        Directory.CreateSymbolicLink(Project("made"), Path.Combine(_outside, "made"));

        var error = Assert.Throws<CliException>(() => EditJournal.PlanUndo(folder, _root, journal.RunId).Apply());

        Assert.Contains("new.txt", error.Message);
        Assert.Equal("made", File.ReadAllText(Path.Combine(_outside, "made", "new.txt")));
    }

    [Fact]
    public void Undo_checks_again_when_it_applies_and_changes_nothing_out_of_the_project()
    {
        var (journal, folder) = JournalOf(("keep.txt", "one", "two"));
        var plan = EditJournal.PlanUndo(folder, _root, journal.RunId);
        // Swapped between the plan (shown to the user) and its confirmation.
        var copy = Path.Combine(_outside, "copy.txt");
        File.Copy(Project("keep.txt"), copy);
        File.Delete(Project("keep.txt"));
        File.CreateSymbolicLink(Project("keep.txt"), copy);

        Assert.Throws<CliException>(plan.Apply);

        Assert.Equal("two", File.ReadAllText(copy));
    }

    (EditJournal Journal, string Folder) JournalOf(params (string Path, string? Before, string After)[] edits)
    {
        var folder = Path.Combine(_outside, "..", Path.GetFileName(_outside) + "-edits");
        folder = Path.GetFullPath(folder);
        var files = new ProjectFiles(_root);
        var journal = new EditJournal(folder, _root) { RunId = "run-" + Guid.NewGuid().ToString("N")[..8] };
        foreach (var (path, before, after) in edits)
        {
            if (before is not null) Write(path, before);
            var (full, old, refusal) = files.Write(path, Encoding.UTF8.GetBytes(after));
            Assert.Null(refusal);
            journal.Record(full!, old, Encoding.UTF8.GetBytes(after));
        }
        return (journal, folder);
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
        var edits = Path.GetFullPath(Path.Combine(_outside, "..", Path.GetFileName(_outside) + "-edits"));
        if (Directory.Exists(edits)) Directory.Delete(edits, recursive: true);
    }
}
