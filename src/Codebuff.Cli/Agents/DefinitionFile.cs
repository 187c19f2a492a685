using System.Text;

namespace Codebuff.Cli.Agents;

/// <summary>
/// Reads a file of an agent's definition side (<c>.agents</c> modules, agent files, skills, mcp.json) only when its real
/// path — every link on the way resolved — lies inside the folder it was found in, and only up to <see cref="MaxBytes"/>.
/// A cloned repository can hold links; without this, one pointing at ~/.ssh or /dev/zero would be read as a definition.
/// </summary>
public static class DefinitionFile
{
    public const int MaxBytes = 1 << 20;
    const int MaxLinks = 40;

    /// <summary>The text of <paramref name="file"/>; a <see cref="CliException"/> naming it when it may not be read.</summary>
    public static string Read(string file, string folder)
    {
        var real = RealPath(file);
        var within = RealPath(folder);
        if (!real.StartsWith(Path.TrimEndingDirectorySeparator(within) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new CliException($"{file} is not read: it links to {real}, outside {folder}.");
        if (!File.Exists(real)) throw new CliException($"{file} is not read: it is not a regular file.");
        // Read from the resolved path (what was checked), and never more than the cap, whatever the file claims to hold.
        using var stream = new FileStream(real, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[MaxBytes + 1];
        var length = 0;
        while (length < buffer.Length && stream.Read(buffer, length, buffer.Length - length) is var n and > 0) length += n;
        if (length > MaxBytes) throw new CliException($"{file} is not read: it is larger than {MaxBytes / (1 << 20)} MiB.");
        return new UTF8Encoding(false).GetString(buffer, 0, length).TrimStart('\uFEFF');
    }

    /// <summary>The absolute path with each symbolic link along it replaced by its target (like realpath(3)).</summary>
    static string RealPath(string path)
    {
        var pending = new Stack<string>(Parts(Path.GetFullPath(path)).Reverse());
        var current = "/";
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == "..") { current = Path.GetDirectoryName(current) ?? "/"; continue; }
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is not { } target) { current = next; continue; }
            if (++links > MaxLinks) throw new CliException($"{path} is not read: too many symbolic links.");
            // An absolute target starts over from the root; a relative one goes on from the link's folder.
            if (Path.IsPathRooted(target)) current = "/";
            foreach (var p in Parts(target).Reverse()) pending.Push(p);
        }
        return current;
    }

    static IEnumerable<string> Parts(string path) => path.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".");
}
