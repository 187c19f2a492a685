using System.Text;

namespace Codebuff.Server.Billing;

/// <summary>
/// This instance's append-only record of charges not yet in the database, under DataDir/billing/. Every charge is
/// appended (one JSON line, write(2), no fsync) before it is queued, and a "done" line follows once it committed; a
/// charge whose write fails is fsynced before the client gets its answer. Why not fsync every charge: it costs ~3 ms
/// here, ten PostgreSQL round trips, on every call — and a page-cache write already survives the process being
/// killed; only a machine crash in the few milliseconds before PostgreSQL's own commit could lose one.
/// Files are locked (flock) while their instance lives. At start, an instance adopts the files of instances that
/// died (lockable files): their charges without a "done" line are copied into its own journal (fsynced) and
/// replayed. Segments rotate at 16 MiB and are deleted once every charge in them is done.
/// </summary>
public sealed class ChargeJournal : IDisposable
{
    const long SegmentBytes = 16 * 1024 * 1024;
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    readonly Lock _gate = new();
    readonly string _dir;
    readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    readonly Dictionary<Guid, Segment> _where = [];
    Segment _current;
    int _sequence;

    sealed class Segment(string path, FileStream stream)
    {
        public string Path { get; } = path;
        public FileStream Stream { get; } = stream;
        public int Outstanding { get; set; }
    }

    sealed record Line(Charge? Charge, Guid[]? Done);

    public ChargeJournal(string dataDir)
    {
        _dir = Path.Combine(dataDir, "billing");
        Directory.CreateDirectory(_dir);
        _current = Open();
    }

    /// <summary>Records a charge before it is queued.</summary>
    public void Append(Charge charge)
    {
        var bytes = Encode(new Line(charge, null));
        lock (_gate)
        {
            if (_where.ContainsKey(charge.CallId)) return;
            if (_current.Stream.Length > SegmentBytes) Rotate();
            _current.Stream.Write(bytes);
            _current.Outstanding++;
            _where[charge.CallId] = _current;
        }
    }

    /// <summary>Records that these charges are in the database (or in sync_failure); deletes segments that are all done.</summary>
    public void MarkDone(IReadOnlyCollection<Guid> callIds)
    {
        if (callIds.Count == 0) return;
        var bytes = Encode(new Line(null, [.. callIds]));
        lock (_gate)
        {
            _current.Stream.Write(bytes);
            foreach (var id in callIds)
            {
                if (!_where.Remove(id, out var segment)) continue;
                segment.Outstanding--;
                if (segment != _current && segment.Outstanding == 0)
                {
                    segment.Stream.Dispose();
                    File.Delete(segment.Path);
                }
            }
        }
    }

    /// <summary>Forces what was written to disk: called before an answer is released while its charge is not committed.</summary>
    public void Flush()
    {
        lock (_gate) _current.Stream.Flush(flushToDisk: true);
    }

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

    void Rotate()
    {
        var old = _current;
        _current = Open();
        if (old.Outstanding == 0)
        {
            old.Stream.Dispose();
            File.Delete(old.Path);
        }
    }

    Segment Open()
    {
        var path = Path.Combine(_dir, $"{_instance}-{_sequence++:D6}.journal");
        // FileShare.None takes an exclusive flock: other instances see this file as live.
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
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
