using Codebuff.Server.Billing;

namespace Codebuff.Server.Tests.Billing;

/// <summary>The journal on its own, in a directory of its own: what Flush makes durable, and how its files are created.</summary>
public sealed class ChargeJournalTests : IDisposable
{
    readonly string _dataDir = Path.Combine(Path.GetTempPath(), "codebuff-journal-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>
    /// A charge written to a segment that has since been rotated away is still fsynced by the next Flush, and so is the
    /// directory after a segment was created (its entry is what finds the file after a crash). Before, Flush synced
    /// only the current segment: the rotated one's charge and the new file's directory entry could be lost.
    /// </summary>
    [Fact]
    public void Flush_covers_every_segment_holding_an_unsynced_charge_and_the_entries_of_new_segments()
    {
        using var journal = new ChargeJournal(_dataDir, segmentBytes: 1); // every charge after the first rotates
        var billing = Path.Combine(_dataDir, "billing");
        var synced = new List<string>();
        journal.Fault = (operation, path) =>
        {
            if (operation == "fsync") synced.Add(path);
            return null;
        };
        journal.Flush();
        Assert.Equal([billing], synced); // the first segment's entry
        synced.Clear();

        var first = ChargeQueueTests.NewCharge("u", 1);
        var second = ChargeQueueTests.NewCharge("u", 2);
        journal.Append(first);
        journal.Append(second); // rotates: a new segment, and the first one still holds an unsynced charge
        var segments = Directory.GetFiles(billing, "*.journal").Order().ToList();
        Assert.Equal(2, segments.Count);
        journal.Flush();
        Assert.Equal(segments.Append(billing).Order(), synced.Order());

        synced.Clear();
        journal.Flush();
        Assert.Empty(synced); // nothing new since

        journal.MarkDone([first.CallId]);
        Assert.False(File.Exists(segments[0]), "a rotated segment whose charges are all done is deleted");
        journal.Flush();
        Assert.Empty(synced); // a done line needs no fsync: a charge replayed after a crash changes nothing
    }

    /// <summary>
    /// A write that fails (a full disk) throws and leaves the journal working: the next writes land, and a "done" line
    /// that could not be written is written with the next one.
    /// </summary>
    [Fact]
    public void A_failed_write_leaves_the_journal_usable()
    {
        var journal = new ChargeJournal(_dataDir);
        var full = true;
        journal.Fault = (operation, _) => full && operation == "write" ? new IOException("No space left on device") : null;
        var charge = ChargeQueueTests.NewCharge("u", 3);
        Assert.Throws<IOException>(() => journal.Append(charge));
        full = false;
        journal.Append(charge);
        full = true;
        Assert.Throws<IOException>(() => journal.MarkDone([charge.CallId]));
        full = false;
        var other = ChargeQueueTests.NewCharge("u", 4);
        journal.Append(other);
        journal.MarkDone([other.CallId]);
        journal.Append(ChargeQueueTests.NewCharge("u", 5)); // outstanding, so the file outlives the journal (which locks it meanwhile)
        journal.Dispose();
        var lines = File.ReadAllLines(Assert.Single(Directory.GetFiles(Path.Combine(_dataDir, "billing"), "*.journal")));
        Assert.Equal(4, lines.Length); // charge, other, one done line naming both, the last charge
        Assert.Contains(charge.CallId.ToString(), lines[2]);
        Assert.Contains(other.CallId.ToString(), lines[2]);
    }

    /// <summary>The directories are 0700 and every segment 0600 (charges hold whole responses).</summary>
    [Fact]
    public void Journal_files_are_private_from_their_creation()
    {
        using var journal = new ChargeJournal(_dataDir);
        journal.Append(ChargeQueueTests.NewCharge("u", 1));
        const UnixFileMode Dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(Dir, File.GetUnixFileMode(_dataDir));
        Assert.Equal(Dir, File.GetUnixFileMode(Path.Combine(_dataDir, "billing")));
        var segment = Assert.Single(Directory.GetFiles(Path.Combine(_dataDir, "billing"), "*.journal"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(segment));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataDir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
