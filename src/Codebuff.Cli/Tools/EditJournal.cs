using System.Security.Cryptography;
using System.Text.Json;

namespace Codebuff.Cli.Tools;

/// <summary>
/// Every file a run writes, with its content before the run's first write and the hash after its last, kept in
/// <c>&lt;config&gt;/projects/&lt;name&gt;/edits/&lt;key of the project's full path&gt;/&lt;run-id&gt;.json</c>. <c>codebuff undo</c>
/// restores the before-state of a run, and refuses (changing nothing) when the journal is another project's or any of
/// its files was changed since.
/// </summary>
public sealed class EditJournal(string folder, string projectRoot)
{
    readonly Lock _gate = new();
    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Set when the root run STARTs; the journal is saved under this id.</summary>
    public string? RunId { get; set; }

    public sealed record Entry(string Path, string? BeforeHash, string? BeforeBase64, string? AfterHash);

    sealed record JournalFile(string RunId, string ProjectRoot, DateTime CreatedAt, List<Entry> Files);

    /// <summary>Records a write (a null <paramref name="after"/>: a deletion, which undo brings back): the first before-state
    /// of a file is kept, the after-state is the latest.</summary>
    public void Record(string fullPath, byte[]? before, byte[]? after)
    {
        lock (_gate)
        {
            var entry = _entries.TryGetValue(fullPath, out var e) ? e
                : new Entry(fullPath, before is null ? null : Hash(before), before is null ? null : Convert.ToBase64String(before), null);
            _entries[fullPath] = entry with { AfterHash = after is null ? null : Hash(after) };
            Save();
        }
    }

    void Save()
    {
        if (RunId is null) return;
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, RunId + ".json"),
            JsonSerializer.Serialize(new JournalFile(RunId, projectRoot, DateTime.UtcNow, _entries.Values.ToList()), JsonSerializerOptions.Web));
    }

    public static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>One file an undo would put back: deleted when the run created it, else restored to its before-state.</summary>
    public sealed record Restore(string Path, string Relative, bool Delete, byte[]? Content, string? AfterHash);

    /// <summary>What undoing a run (the latest when <paramref name="runId"/> is null) would do, checked: the journal must be
    /// this project's (<paramref name="projectRoot"/>), every file inside it, none changed since the run wrote it.</summary>
    public sealed record Plan(string RunId, string JournalPath, IReadOnlyList<Restore> Files, ProjectFiles Project)
    {
        /// <summary>Checks every file again (it may have changed, or become a link, since the plan was shown), then
        /// puts them back through <see cref="ProjectFiles"/>, which refuses what leads out of the project.</summary>
        public void Apply()
        {
            var changed = Files.Where(f => CurrentHash(Project, f.Path) != f.AfterHash).Select(f => f.Relative).ToArray();
            if (changed.Length > 0) throw Changed(RunId, changed);
            foreach (var f in Files)
            {
                var refusal = f.Delete ? Project.Delete(f.Path).Refusal : Project.Write(f.Path, f.Content!).Refusal;
                if (refusal is not null) throw new CliException($"Not undoing {f.Relative} of run {RunId}: {refusal}. Stopped there.");
            }
            File.Move(JournalPath, System.IO.Path.ChangeExtension(JournalPath, ".undone"), overwrite: true);
        }
    }

    static CliException Changed(string runId, string[] changed) =>
        new($"Not undoing run {runId}: {string.Join(", ", changed)} changed since the run wrote {(changed.Length == 1 ? "it" : "them")}. Nothing was restored.");

    public static Plan PlanUndo(string folder, string projectRoot, string? runId)
    {
        var path = runId is not null ? Path.Combine(folder, Path.GetFileName(runId) + ".json")
            : Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.json").OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault() : null;
        if (path is null || !File.Exists(path))
            throw new CliException(runId is null ? "There is no run with file changes to undo in this project." : $"No recorded file changes for run {runId} in this project.");
        var journal = JsonSerializer.Deserialize<JournalFile>(File.ReadAllText(path), JsonSerializerOptions.Web)!;

        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(projectRoot));
        if (Path.TrimEndingDirectorySeparator(journal.ProjectRoot) != root)
            throw new CliException($"Not undoing run {journal.RunId}: it changed files of {journal.ProjectRoot}, not of this project ({root}). Nothing was restored.");
        var outside = journal.Files.Where(f => !Path.GetFullPath(f.Path).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)).Select(f => f.Path).ToArray();
        if (outside.Length > 0)
            throw new CliException($"Not undoing run {journal.RunId}: its journal names files outside this project ({string.Join(", ", outside)}). Nothing was restored.");

        var project = new ProjectFiles(root);
        var changed = journal.Files.Where(f => CurrentHash(project, f.Path) != f.AfterHash).Select(f => Path.GetRelativePath(root, f.Path)).ToArray();
        if (changed.Length > 0) throw Changed(journal.RunId, changed);
        return new Plan(journal.RunId, path, journal.Files.Select(f => new Restore(f.Path, Path.GetRelativePath(root, f.Path), f.BeforeBase64 is null,
            f.BeforeBase64 is null ? null : Convert.FromBase64String(f.BeforeBase64), f.AfterHash)).ToArray(), project);
    }

    /// <summary>A file's hash as the tools would read it; a refusal (a link out, a secret) never matches a hash.</summary>
    static string? CurrentHash(ProjectFiles project, string path) => project.Read(path, toWrite: true) switch
    {
        (_, { } refusal) => refusal,
        (null, _) => null,
        (var bytes, _) => Hash(bytes),
    };
}
