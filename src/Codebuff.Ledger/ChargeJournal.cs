using System.Runtime.InteropServices;
using System.Text;

namespace Codebuff.Ledger;

/// <summary>
/// This instance's append-only record of charges not yet in the database, under DataDir/billing/. Every charge is
/// appended (one JSON line, write(2), no fsync) before it is queued, and a "done" line follows once it committed; a
/// charge whose write fails is fsynced before the client gets its answer. Why not fsync every charge: it costs ~3 ms
/// here, ten PostgreSQL round trips, on every call — and a page-cache write already survives the process being
/// killed; only a machine crash in the few milliseconds before PostgreSQL's own commit could lose one.
/// Files are locked (flock) while their instance lives. At start, an instance adopts the files of instances that
/// died (lockable files): their charges without a "done" line are copied into its own journal (fsynced) and
/// replayed. Segments rotate at 16 MiB and are deleted once every charge in them is done.
/// <see cref="Flush"/> makes every charge line written so far durable: it fsyncs each segment written since its last
/// fsync (a rotated one may still hold a charge not yet on disk) and, after a segment was created, the directory, so
/// the new file's entry survives a crash too. Files are created 0600 in a 0700 directory (<see cref="PrivateFiles"/>).
/// A failed write throws and leaves the journal usable: writes go to the offset the stream tracks (pwrite), so a retry
/// overwrites whatever part of a failed line reached the file. Bookkeeping of done charges never depends on the write.
/// </summary>
sealed class ChargeJournal : IDisposable
{
    const long DefaultSegmentBytes = 16 * 1024 * 1024;
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    readonly Lock _gate = new();
    readonly string _dir;
    readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    readonly Dictionary<Guid, Segment> _where = [];
    readonly HashSet<Segment> _unsynced = [];
    readonly List<Guid> _doneBacklog = [];
    readonly long _segmentBytes;
    Segment _current;
    int _sequence;
    bool _directoryUnsynced;

    /// <summary>
    /// Test seam: called before each write ("write") and fsync ("fsync") with the file or directory it is for; an
    /// exception it returns is thrown as that operation's failure (a full disk, an I/O error).
    /// </summary>
    public Func<string, string, Exception?>? Fault { get; set; }

    sealed class Segment(string path, FileStream stream)
    {
        public string Path { get; } = path;
        public FileStream Stream { get; } = stream;
        public int Outstanding { get; set; }
    }

    sealed record Line(Charge? Charge, Guid[]? Done);

    public ChargeJournal(string dataDir, long segmentBytes = DefaultSegmentBytes)
    {
        _segmentBytes = segmentBytes;
        _dir = Path.Combine(dataDir, "billing");
        PrivateFiles.CreateDataDirectory(dataDir);
        PrivateFiles.CreateDirectory(_dir);
        _current = Open();
    }

    /// <summary>Records a charge before it is queued.</summary>
    public void Append(Charge charge)
    {
        var bytes = Encode(new Line(charge, null));
        lock (_gate)
        {
            if (_where.ContainsKey(charge.CallId)) return;
            if (_current.Stream.Length > _segmentBytes) Rotate();
            Write(_current, bytes);
            _current.Outstanding++;
            _where[charge.CallId] = _current;
            _unsynced.Add(_current);
        }
    }

    /// <summary>
    /// Records that these charges are in the database (or in sync_failure); deletes segments that are all done. The
    /// bookkeeping happens first, so a failed write (thrown) loses only the "done" line, which is written with the next
    /// one — and if it never is, a replay of those charges changes nothing (their call ids are applied already).
    /// </summary>
    public void MarkDone(IReadOnlyCollection<Guid> callIds)
    {
        if (callIds.Count == 0) return;
        lock (_gate)
        {
            foreach (var id in callIds)
            {
                if (!_where.Remove(id, out var segment)) continue;
                segment.Outstanding--;
                if (segment != _current && segment.Outstanding == 0) Delete(segment);
            }
            _doneBacklog.AddRange(callIds);
            Write(_current, Encode(new Line(null, [.. _doneBacklog])));
            _doneBacklog.Clear();
        }
    }

    /// <summary>
    /// Forces every charge written so far to disk — each segment written since its last fsync, and the directory once
    /// a segment was created — before an answer is released while its charge is not committed.
    /// </summary>
    public void Flush()
    {
        lock (_gate)
        {
            foreach (var segment in _unsynced.ToList())
            {
                if (Fault?.Invoke("fsync", segment.Path) is { } fault) throw fault;
                segment.Stream.Flush(flushToDisk: true);
                _unsynced.Remove(segment);
            }
            if (_directoryUnsynced)
            {
                if (Fault?.Invoke("fsync", _dir) is { } fault) throw fault;
                SyncDirectory(_dir);
                _directoryUnsynced = false;
            }
        }
    }

    void Write(Segment segment, byte[] bytes)
    {
        if (Fault?.Invoke("write", segment.Path) is { } fault) throw fault;
        segment.Stream.Write(bytes);
    }

    void Delete(Segment segment)
    {
        segment.Stream.Dispose();
        _unsynced.Remove(segment);
        try { File.Delete(segment.Path); }
        catch (IOException) { } // left behind: adopted at a later start, where its charges replay as no-ops
    }

    /// <summary>fsync(2) of a directory, which .NET has no API for: makes the entries of files created in it durable.</summary>
    static void SyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = open(path, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open {path} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"fsync of {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = close(fd);
        }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    static extern int fsync(int fd);

    [DllImport("libc")]
    static extern int close(int fd);

    /// <summary>
    /// Adopts the journals of instances that are gone: returns their unfinished charges, now recorded (fsynced) in
    /// this instance's journal, and deletes their files.
    /// </summary>
    public IReadOnlyList<Charge> AdoptOrphans()
    {
        var orphans = new List<(string Path, FileStream Stream)>();
        foreach (var path in Directory.GetFiles(_dir, "*.journal").Order())
        {
            lock (_gate) if (_where.Values.Any(s => s.Path == path) || _current.Path == path) continue;
            try { orphans.Add((path, new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))); }
            catch (IOException) { } // locked: a live instance's journal
        }
        try
        {
            var pending = new Dictionary<Guid, Charge>();
            var done = new HashSet<Guid>();
            foreach (var (_, stream) in orphans)
            {
                using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
                while (reader.ReadLine() is { } text)
                {
                    Line? line;
                    try { line = JsonSerializer.Deserialize<Line>(text, Json); }
                    catch (JsonException) { continue; } // a line cut off by a crash: its charge was never released
                    if (line?.Charge is { } c) pending.TryAdd(c.CallId, c);
                    foreach (var id in line?.Done ?? []) done.Add(id);
                }
            }
            var adopted = pending.Values.Where(c => !done.Contains(c.CallId)).ToList();
            foreach (var c in adopted) Append(c);
            Flush();
            foreach (var (path, stream) in orphans)
            {
                stream.Dispose();
                File.Delete(path);
            }
            return adopted;
        }
        finally
        {
            // Released on failure too (a full disk): another attempt must be able to lock them again.
            foreach (var (_, stream) in orphans) stream.Dispose();
        }
    }

    void Rotate()
    {
        var old = _current;
        _current = Open();
        if (old.Outstanding == 0) Delete(old);
    }

    Segment Open()
    {
        var path = Path.Combine(_dir, $"{_instance}-{_sequence++:D6}.journal");
        // FileShare.None takes an exclusive flock: other instances see this file as live.
        var stream = PrivateFiles.Open(path, FileMode.CreateNew, FileShare.None, bufferSize: 0);
        _directoryUnsynced = true;
        return new Segment(path, stream);
    }

    static byte[] Encode(Line line)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(line, Json);
        var result = new byte[bytes.Length + 1];
        bytes.CopyTo(result, 0);
        result[^1] = (byte)'\n';
        return result;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            var segments = _where.Values.Append(_current).Distinct().ToList();
            foreach (var s in segments)
            {
                s.Stream.Dispose();
                // A clean stop with nothing outstanding leaves no file behind.
                if (s.Outstanding == 0) File.Delete(s.Path);
            }
        }
    }
}
