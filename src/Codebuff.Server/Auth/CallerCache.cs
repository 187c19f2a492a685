using System.Collections.Concurrent;

namespace Codebuff.Server.Auth;

/// <summary>
/// Token hash → the user its session names, kept for a few seconds, for the routes marked
/// <see cref="CallerGroups.CacheCaller{TBuilder}"/> only (the chat proxy: its caller lookup was a whole database round
/// trip on every call, bench/README.md). Every instance drops a user's entries when PostgreSQL announces a change to
/// that user or one of its sessions (<see cref="CallerChanges"/>: revoked key, logout, ban, …); while that announcement
/// channel is down nothing is served from here, since a change could go unheard. An entry also ends at
/// <see cref="MaxAge"/> and never outlives its session. Other routes (dashboard pages, routes that change the user)
/// read the database every time, so they always see their own writes.
/// </summary>
public sealed class CallerCache
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);
    public const int MaxEntries = 10_000;

    readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    readonly TimeProvider _clock;
    long _generation;
    volatile bool _listening;

    public CallerCache(TimeProvider clock) => _clock = clock;

    sealed record Entry(User User, DateTime Until);

    /// <summary>Whether entries may be used: the change channel is listening.</summary>
    public bool Enabled => _listening;

    /// <summary>Taken before a database lookup; <see cref="Add"/> keeps the result only if nothing was evicted since.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public User? Find(string tokenHash)
    {
        if (!_listening || !_entries.TryGetValue(tokenHash, out var entry)) return null;
        if (entry.Until > _clock.GetUtcNow().UtcDateTime) return entry.User;
        _entries.TryRemove(new KeyValuePair<string, Entry>(tokenHash, entry));
        return null;
    }

    /// <summary>
    /// Keeps a lookup's result, unless an eviction happened since <paramref name="generation"/> was read: the lookup
    /// may then have read the row before the change that eviction announced.
    /// </summary>
    public void Add(string tokenHash, User user, DateTime sessionExpires, long generation)
    {
        if (!_listening) return;
        if (_entries.Count >= MaxEntries) Sweep();
        var until = _clock.GetUtcNow().UtcDateTime + MaxAge;
        _entries[tokenHash] = new Entry(user, sessionExpires < until ? sessionExpires : until);
        // Checked after the write: an eviction racing with it either bumped the generation first (undone here) or
        // removes the entry itself.
        if (Generation != generation) _entries.TryRemove(tokenHash, out _);
    }

    /// <summary>A change to this user or one of its sessions was announced.</summary>
    public void Evict(string userId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _entries)
            if (entry.User.Id == userId) _entries.TryRemove(hash, out _);
    }

    /// <summary>The change channel went down (or came up): nothing cached before can be trusted.</summary>
    public void SetListening(bool listening)
    {
        Interlocked.Increment(ref _generation);
        _listening = listening;
        _entries.Clear();
    }

    /// <summary>Drops expired entries; if the cache is still full, all of them (it refills from the database).</summary>
    void Sweep()
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        foreach (var (hash, entry) in _entries)
            if (entry.Until <= now) _entries.TryRemove(hash, out _);
        if (_entries.Count >= MaxEntries) _entries.Clear();
    }
}
