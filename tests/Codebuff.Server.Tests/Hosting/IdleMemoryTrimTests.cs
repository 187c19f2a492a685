using Codebuff.Server.Hosting;

namespace Codebuff.Server.Tests.Hosting;

/// <summary>When the server gives memory back: only once quiet after work, never under load or when nothing grew.</summary>
public sealed class IdleMemoryTrimTests
{
    const long MB = 1024 * 1024;

    [Theory]
    [InlineData(1 * MB, 300 * MB, true)]   // a burst, then a quiet interval: trim
    [InlineData(50 * MB, 300 * MB, false)] // still busy: a blocking full collection would stall the calls in flight
    [InlineData(1 * MB, 10 * MB, false)]   // quiet, but little was allocated since the last trim: nothing to give back
    [InlineData(0, 0, false)]              // just trimmed
    public void Trims_only_when_quiet_after_work(long inInterval, long sinceTrim, bool trims) =>
        Assert.Equal(trims, IdleMemoryTrim.ShouldTrim(inInterval, sinceTrim));
}
