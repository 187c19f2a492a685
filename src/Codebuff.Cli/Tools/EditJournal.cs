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

    /// <summary>Call before writing <paramref name="fullPath"/>; remembers the first before-state only.</summary>
    public void BeforeWrite(string fullPath)
    {
        lock (_gate)
        {
            if (_entries.ContainsKey(fullPath)) return;
            var before = File.Exists(fullPath) ? File.ReadAllBytes(fullPath) : null;
            _entries[fullPath] = new Entry(fullPath, before is null ? null : Hash(before), before is null ? null : Convert.ToBase64String(before), null);
        }
    }

    public void AfterWrite(string fullPath)
    {
        lock (_gate)
        {
            // A deleted file (apply_patch delete_file) has no after-state: undo brings it back.
            _entries[fullPath] = _entries[fullPath] with { AfterHash = File.Exists(fullPath) ? Hash(File.ReadAllBytes(fullPath)) : null };
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
    public sealed record Restore(string Path, string Relative, bool Delete, byte[]? Content);

    /// <summary>What undoing a run (the latest when <paramref name="runId"/> is null) would do, checked: the journal must be
    /// this project's (<paramref name="projectRoot"/>), every file inside it, none changed since the run wrote it.</summary>
    public sealed record Plan(string RunId, string JournalPath, IReadOnlyList<Restore> Files)
    {
        public void Apply()
        {
            foreach (var f in Files)
            {
                if (f.Delete) File.Delete(f.Path);
                else File.WriteAllBytes(f.Path, f.Content!);
            }
            File.Move(JournalPath, System.IO.Path.ChangeExtension(JournalPath, ".undone"), overwrite: true);
        }
    }

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

        var changed = journal.Files.Where(f => CurrentHash(f.Path) != f.AfterHash).Select(f => Path.GetRelativePath(root, f.Path)).ToArray();
        if (changed.Length > 0)
            throw new CliException($"Not undoing run {journal.RunId}: {string.Join(", ", changed)} changed since the run wrote {(changed.Length == 1 ? "it" : "them")}. Nothing was restored.");
        return new Plan(journal.RunId, path, journal.Files.Select(f => new Restore(f.Path, Path.GetRelativePath(root, f.Path), f.BeforeBase64 is null,
            f.BeforeBase64 is null ? null : Convert.FromBase64String(f.BeforeBase64))).ToArray());
    }

    static string? CurrentHash(string path) => File.Exists(path) ? Hash(File.ReadAllBytes(path)) : null;
}
