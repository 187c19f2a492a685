using Codebuff.Server.Tests.Chat;
using Npgsql;

namespace Codebuff.Server.Tests.Billing;

/// <summary>A provider timeout of 1 s and a hold slack of 0.6 s: a hold is first taken for 1.6 s.</summary>
public sealed class ShortHoldFixture : ChatFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:TimeoutSeconds"] = "1";
        s["Codebuff:Billing:HoldSlackSeconds"] = "0.6";
        return s;
    }
}

/// <summary>
/// A stream that relays for longer than its hold was first taken for keeps holding its credits (HoldKeeper), so a
/// concurrent call cannot spend them while it still runs.
/// </summary>
public sealed class LongStreamHoldTests(ShortHoldFixture server) : IClassFixture<ShortHoldFixture>
{
    async Task<long> LiveHeldAsync(string owner)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT coalesce(sum(credits), 0) FROM billing.reservation WHERE owner = @o AND expires_at > now()", conn);
        cmd.Parameters.AddWithValue("o", owner);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_stream_longer_than_its_first_lease_keeps_its_hold_and_a_concurrent_call_is_refused()
    {
        // 7 credits: exactly one call's hold (default price, 4,000 output tokens), so while it runs nothing is available.
        var user = await server.CreateUserAsync(credits: 7);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var owner = "user:" + user.Id;
        server.Upstream.Hold = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = $"test/trickle-{Guid.NewGuid():N}";
        var body = ChatFixture.ChatBody(model, runId);
        body["max_tokens"] = 4000;
        var stream = await client.PostChatAsync(body, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal(7, await LiveHeldAsync(owner));

        // Well past the first lease (1.6 s), the stream still relaying.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(7, await LiveHeldAsync(owner));
        var other = $"test/second-{Guid.NewGuid():N}";
        var second = ChatFixture.ChatBody(other, runId, stream: false);
        second["max_tokens"] = 4000;
        var refused = await client.PostChatAsync(second);

        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal("""{"message":"Credits are held by calls in progress: 7 of the 7 remaining are reserved for unfinished calls. Try again when they finish."}""",
            await refused.Content.ReadAsStringAsync());
        Assert.DoesNotContain(server.Upstream.Requests, r => (string?)r.Body["model"] == other);

        server.Upstream.Hold.SetResult();
        Assert.Contains("data: [DONE]", await stream.Content.ReadAsStringAsync());
        Assert.Single(await server.WaitForMessagesAsync(user.Id, 1));
        for (var i = 0; i < 50 && await LiveHeldAsync(owner) != 0; i++) await Task.Delay(100);
        Assert.Equal((0L, 6), (await LiveHeldAsync(owner), await server.BalanceAsync(user.Id)));
    }
}
