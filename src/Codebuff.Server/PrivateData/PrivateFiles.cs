namespace Codebuff.Server.PrivateData;

/// <summary>
/// DataDir holds secrets and the charge journal (whole responses), so what the server creates there is private from
/// the first instant: the mode is given to mkdir(2)/open(2) (.NET's UnixCreateMode), never set by a chmod afterwards,
/// which would leave a moment in which anyone could open the file. Directories that exist already keep their mode.
/// </summary>
public static class PrivateFiles
{
    const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// DataDir itself: 0700. [our choice] When root starts the embedded PostgreSQL, it runs as user postgres and must
    /// reach DataDir/postgres, so the cluster creates DataDir 0711 (<paramref name="forPostgresUser"/>): others may pass
    /// through to a path they already know, but cannot list it, and every file in it is 0600.
    /// </summary>
    public static void CreateDataDirectory(string path, bool forPostgresUser = false) =>
        CreateDirectory(path, forPostgresUser ? Owner | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : Owner);

    /// <summary>A directory of the server's own under DataDir: 0700.</summary>
    public static void CreateDirectory(string path) => CreateDirectory(path, Owner);

    static void CreateDirectory(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, mode);
    }

    /// <summary>Opens (creating it 0600 if <paramref name="mode"/> creates) a file for reading and writing.</summary>
    public static FileStream Open(string path, FileMode mode, FileShare share = FileShare.None, int bufferSize = 4096)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Share = share, BufferSize = bufferSize };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerFile;
        return new FileStream(path, options);
    }

    /// <summary>Writes a new file (0600 from its creation); fails if it exists.</summary>
    public static void WriteNew(string path, string text)
    {
        using var stream = Open(path, FileMode.CreateNew);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
        stream.Flush(flushToDisk: true);
    }
}
