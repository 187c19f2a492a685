using System.Runtime;

namespace Codebuff.Server.Hosting;

/// <summary>
/// Gives memory back once the server goes quiet after work: the garbage collector only collects when something
/// allocates, so after a burst (start-up, 1,000 streams) an idle server kept the heap the burst grew (its resident set
/// stayed at the burst's peak). Every 10 s: when the process allocated little in the last interval but much since the
/// last trim, one aggressive collection compacts the heap and decommits what it no longer needs, and the runtime's
/// buffer pools trim with it, and so does the C library's heap. Under steady load nothing happens; a quiet server trims at most once per burst.
/// </summary>
public sealed class IdleMemoryTrim(ILogger<IdleMemoryTrim> log) : BackgroundService
{
    /// <summary>Allocated in one interval by a server doing nothing but its timers and sweeps (~0.1 MB/s measured).</summary>
    public const long QuietBytes = 4L * 1024 * 1024;

    /// <summary>Allocated since the last trim before another is worth a blocking full collection.</summary>
    public const long BusyBytes = 64L * 1024 * 1024;

    public static bool ShouldTrim(long allocatedInInterval, long allocatedSinceTrim) =>
        allocatedInInterval < QuietBytes && allocatedSinceTrim >= BusyBytes;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        var last = GC.GetTotalAllocatedBytes();
        var trimmedAt = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = GC.GetTotalAllocatedBytes();
                if (ShouldTrim(now - last, now - trimmedAt))
                {
                    var before = Environment.WorkingSet;
                    GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    TrimNativeHeap();
                    log.LogDebug("idle: memory trimmed, working set {Before} -> {After} bytes", before, Environment.WorkingSet);
                    trimmedAt = GC.GetTotalAllocatedBytes();
                }
                last = GC.GetTotalAllocatedBytes();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// glibc keeps the native memory the burst freed (the JIT's, the sockets') in its arenas for reuse; malloc_trim
    /// gives their free pages back. Not on other C libraries (musl has no malloc_trim) or systems.
    /// </summary>
    static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);
}
