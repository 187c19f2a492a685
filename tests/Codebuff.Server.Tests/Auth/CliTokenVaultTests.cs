using Codebuff.Server.Auth;

namespace Codebuff.Server.Tests.Auth;

/// <summary>The in-memory holder of raw CLI tokens: only within the login window, only for the login that made it.</summary>
public sealed class CliTokenVaultTests
{
    sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void A_token_is_recoverable_only_in_its_window_and_only_with_its_hash()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var vault = new CliTokenVault(new AuthSecret("s3cret"), clock);
        vault.Keep("session-hash", "fp-hash", "the-token", clock.Now.AddHours(1));

        Assert.Equal("the-token", vault.Recover("session-hash", "fp-hash"));
        Assert.Null(vault.Recover("session-hash", "another-login"));
        Assert.Null(vault.Recover("other-session", "fp-hash"));

        clock.Now = clock.Now.AddHours(1);
        Assert.Null(vault.Recover("session-hash", "fp-hash"));
        Assert.Equal(0, vault.Count);
    }

    [Fact]
    public void Forgotten_tokens_are_gone_and_expired_ones_are_purged_on_the_next_keep()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var vault = new CliTokenVault(new AuthSecret("s3cret"), clock);
        vault.Keep("a", "h", "token-a", clock.Now.AddMinutes(1));
        vault.Keep("b", "h", "token-b", clock.Now.AddHours(1));
        vault.Forget(["b"]);
        Assert.Null(vault.Recover("b", "h"));
        clock.Now = clock.Now.AddMinutes(2);
        vault.Keep("c", "h", "token-c", clock.Now.AddHours(1));
        Assert.Equal(1, vault.Count);
    }
}
