namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>A clock the test moves by hand (monthly resets, expiry).</summary>
public sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;
    public override DateTimeOffset GetUtcNow() => Now;
    public void Advance(TimeSpan by) => Now += by;
}
