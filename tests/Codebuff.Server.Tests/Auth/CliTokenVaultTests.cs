using Codebuff.Server.Auth;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

/// <summary>The shared holder of raw CLI tokens: encrypted at rest, only within the window, only for the login that made it, once.</summary>
public sealed class CliTokenVaultTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    // The server's own sweeper runs by the real clock, so the windows here are real ones too.
    static readonly DateTimeOffset Now = DateTimeOffset.UtcNow.AddMinutes(5);

    Task<int> RowsAsync(Data.AppDbContext db, string sessionHash) =>
        db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM service.cli_login_token WHERE session_hash = {sessionHash}").SingleAsync();

    [Fact]
    public async Task A_token_is_collected_once_within_its_window_with_its_hash_and_is_never_stored_in_plain_text()
    {
        var vault = new CliTokenVault(new AuthSecret("s3cret"));
        var (session, token) = ("session-" + Guid.NewGuid().ToString("N"), "token-" + Guid.NewGuid().ToString("N"));
        await using var db = server.NewDbContext();
        await vault.KeepAsync(db, session, "fp-hash", token, Now.AddHours(1), default);

        var stored = await db.Database.SqlQuery<byte[]>($"SELECT sealed AS \"Value\" FROM service.cli_login_token WHERE session_hash = {session}").SingleAsync();
        Assert.DoesNotContain(token, System.Text.Encoding.Latin1.GetString(stored));
        Assert.Null(await vault.CollectAsync(db, [session], "another-login", Now, default));
        Assert.Null(await vault.CollectAsync(db, [session], "fp-hash", Now.AddHours(1), default));
        // Another server instance (same auth secret) collects it.
        Assert.Equal((session, token), await new CliTokenVault(new AuthSecret("s3cret")).CollectAsync(db, ["other", session], "fp-hash", Now, default));
        Assert.Null(await vault.CollectAsync(db, [session], "fp-hash", Now, default));
        Assert.Equal(0, await RowsAsync(db, session));
    }

    [Fact]
    public async Task Expired_tokens_are_swept_and_forgotten_ones_are_gone()
    {
        var vault = new CliTokenVault(new AuthSecret("s3cret"));
        var (a, b, c) = ("a-" + Guid.NewGuid().ToString("N"), "b-" + Guid.NewGuid().ToString("N"), "c-" + Guid.NewGuid().ToString("N"));
        await using var db = server.NewDbContext();
        await vault.KeepAsync(db, a, "h", "token-a", DateTimeOffset.UtcNow.AddSeconds(-1), default);
        await vault.KeepAsync(db, b, "h", "token-b", Now.AddHours(1), default);
        await vault.KeepAsync(db, c, "h", "token-c", Now.AddHours(1), default);
        await vault.ForgetAsync(db, b, default);
        await vault.SweepAsync(db, DateTimeOffset.UtcNow, default);
        Assert.Equal((0, 0, 1), (await RowsAsync(db, a), await RowsAsync(db, b), await RowsAsync(db, c)));
    }
}
