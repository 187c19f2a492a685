using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Npgsql;

namespace Codebuff.Server.Tests.Billing;

/// <summary>Two server instances (own DI, pool and data directory each) on one database and one fake provider, rate limits out of the way.</summary>
public sealed class TwoInstanceChatFixture : ChatFixture
{
    readonly string _secondDir = Path.Combine(Path.GetTempPath(), "codebuff-test-data-" + Guid.NewGuid().ToString("N")[..12]);
    WebApplication? _second;

    public Uri SecondAddress { get; private set; } = null!;

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Chat:RateLimitBurst"] = "1000";
        s["Codebuff:Chat:RateLimitPerMinute"] = "100000";
        return s;
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var settings = Settings();
        settings["Codebuff:DataDir"] = _secondDir;
        _second = await StartServerAsync(ConnectionString, settings);
        SecondAddress = new Uri(_second.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>A client of instance 0 or 1 sending the user's token.</summary>
    public HttpClient ClientFor(TestUser user, int instance)
    {
        var client = ClientFor(user);
        if (instance == 1) client.BaseAddress = SecondAddress;
        return client;
    }

    public override async Task DisposeAsync()
    {
        if (_second is not null) await _second.DisposeAsync();
        await base.DisposeAsync();
        try { Directory.Delete(_secondDir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

/// <summary>
/// Spend in flight is reserved (issue 25 item 2): a call holds its worst-case credits (input + min(max_tokens, 4000)
/// output tokens at the model's price) from the gate to its charge, in billing.reservation, so concurrent calls on any
/// instance cannot spend credits the owner does not have.
/// </summary>
public sealed class ReservationTests(TwoInstanceChatFixture server) : IClassFixture<TwoInstanceChatFixture>
{
    // An unknown model → the default price ($3 in / $15 out per million): 4,000 output tokens and a small body hold
    // round-up(0.0603 × 105.5) = 7 credits.
    const int DefaultHold = 7;

    static JsonObject Body(string model, string runId)
    {
        var body = ChatFixture.ChatBody(model, runId);
        body["max_tokens"] = 4000;
        return body;
    }

    async Task<long> HeldAsync(string owner, string extra = "")
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"SELECT coalesce(sum(credits), 0) FROM billing.reservation WHERE owner = @o {extra}", conn);
        cmd.Parameters.AddWithValue("o", owner);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Waits until the owner holds <paramref name="credits"/> (a charge or release lands just after the answer).</summary>
    async Task AssertHeldAsync(string owner, long credits)
    {
        var held = -1L;
        for (var i = 0; i < 100 && held != credits; i++)
        {
            held = await HeldAsync(owner);
            if (held != credits) await Task.Delay(100);
        }
        Assert.Equal(credits, held);
    }

    async Task HoldAsync(string owner, int credits, string expiresIn)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"INSERT INTO billing.reservation (call_id, owner, credits, expires_at) VALUES (@c, @o, @n, now() + interval '{expiresIn}')", conn);
        cmd.Parameters.AddWithValue("c", Guid.NewGuid());
        cmd.Parameters.AddWithValue("o", owner);
        cmd.Parameters.AddWithValue("n", credits);
        await cmd.ExecuteNonQueryAsync();
    }

    static async Task WaitUntilAsync(Func<bool> done, string what)
    {
        // Up to 2 minutes: it ends as soon as done, and 40 concurrent calls through two instances took over 30 s on a loaded 2-core machine.
        for (var i = 0; i < 1200 && !done(); i++) await Task.Delay(100);
        Assert.True(done(), what);
    }

    [Fact]
    public async Task Forty_concurrent_calls_across_two_instances_leave_the_balance_no_lower_than_minus_20()
    {
        var user = await server.CreateUserAsync(credits: 20);
        var clients = new[] { server.ClientFor(user, 0), server.ClientFor(user, 1) };
        var runId = await server.StartRunAsync(clients[0]);
        // Default-price model, each call billed 10 credits; the provider holds every answer until all 40 have passed the gate or been refused.
        var model = $"test/held-tencredits-{Guid.NewGuid():N}";
        server.Upstream.Hold = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, 40).Select(i => clients[i % 2].PostChatAsync(Body(model, runId), HttpCompletionOption.ResponseHeadersRead)).ToList();
        int AtProvider() => server.Upstream.Requests.Count(r => (string?)r.Body["model"] == model);
        await WaitUntilAsync(() => AtProvider() + calls.Count(c => c.IsCompleted) == 40, "every call reached the provider or was refused");
        var (atProvider, heldInFlight) = (AtProvider(), await HeldAsync("user:" + user.Id));
        server.Upstream.Hold.SetResult();

        var answers = await Task.WhenAll(calls);
        var served = 0;
        foreach (var answer in answers)
        {
            var text = await answer.Content.ReadAsStringAsync();
            if (answer.StatusCode == HttpStatusCode.OK) { served++; continue; }
            Assert.Equal(HttpStatusCode.PaymentRequired, answer.StatusCode);
            Assert.Matches("""^\{"message":"(Credits are held by calls in progress: \d+ of the \d+ remaining are reserved for unfinished calls. Try again when they finish.|Out of credits\. .*)"\}$""", text);
        }
        Assert.Equal(served, (await server.WaitForMessagesAsync(user.Id, served)).Count);
        var balance = await server.BalanceAsync(user.Id);
        Assert.True(balance >= -20, $"balance {balance} after {served} calls");
        // 20 → 13 → 6 available: three calls hold 7 each; the rest are refused until they finish.
        Assert.Equal((3, 3, DefaultHold * 3L), (served, atProvider, heldInFlight));
        Assert.Equal(20 - 10 * served, balance);
        await AssertHeldAsync("user:" + user.Id, 0);
    }

    [Fact]
    public async Task A_hold_is_released_by_the_charge_and_when_the_provider_fails()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var client = server.ClientFor(user, 1);
        var runId = await server.StartRunAsync(client);
        var owner = "user:" + user.Id;

        server.Upstream.Hold = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = $"test/held-{Guid.NewGuid():N}";
        var call = client.PostChatAsync(Body(model, runId));
        await WaitUntilAsync(() => server.Upstream.Requests.Any(r => (string?)r.Body["model"] == model), "the call reached the provider");
        Assert.Equal(DefaultHold, await HeldAsync(owner));
        server.Upstream.Hold.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await call).StatusCode);
        await AssertHeldAsync(owner, 0);
        Assert.Equal(99, await server.BalanceAsync(user.Id));

        foreach (var stream in new[] { true, false })
        {
            var body = Body("test/error", runId);
            body["stream"] = stream;
            Assert.Equal(HttpStatusCode.InternalServerError, (await client.PostChatAsync(body)).StatusCode);
            await AssertHeldAsync(owner, 0);
        }
        Assert.Equal(99, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task A_client_that_hangs_up_leaves_no_hold_whether_or_not_the_call_is_charged()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var owner = "user:" + user.Id;
        var runId = await server.StartRunAsync(server.ClientFor(user, 0));

        // Hung up while the provider is thinking, which then fails: nothing to charge, the hold goes.
        // Then hung up while the provider is thinking, which then answers: the answer is charged and the charge ends the hold.
        foreach (var (model, charged) in new[] { ($"test/held-error-{Guid.NewGuid():N}", false), ($"test/held-{Guid.NewGuid():N}", true) })
        {
            server.Upstream.Hold = new(TaskCreationOptions.RunContinuationsAsynchronously);
            using var client = server.ClientFor(user, 0);
            using var abort = new CancellationTokenSource();
            var call = client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions")
            {
                Content = new StringContent(Body(model, runId).ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
            }, abort.Token);
            await WaitUntilAsync(() => server.Upstream.Requests.Any(r => (string?)r.Body["model"] == model), "the call reached the provider");
            Assert.Equal(DefaultHold, await HeldAsync(owner));
            abort.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            server.Upstream.Hold.SetResult();
            await AssertHeldAsync(owner, 0);
            var messages = charged ? await server.WaitForMessagesAsync(user.Id, 1) : await server.MessagesAsync(user.Id);
            Assert.Equal(charged ? 1 : 0, messages.Count(m => m.Model.StartsWith(model)));
        }
        Assert.Equal(99, await server.BalanceAsync(user.Id));
    }

    [Fact]
    public async Task Expired_holds_are_ignored_and_live_ones_refuse_with_402()
    {
        var user = await server.CreateUserAsync(credits: 20);
        var client = server.ClientFor(user, 0);
        var runId = await server.StartRunAsync(client);
        var owner = "user:" + user.Id;

        // A hold left by an instance that died (its call timeout + 60 s are over): ignored.
        await HoldAsync(owner, 1000, "-1 second");
        Assert.Equal(HttpStatusCode.OK, (await client.PostChatAsync(Body("test/model", runId))).StatusCode);

        // A call in flight elsewhere holding everything: refused, with the reason, and nothing forwarded.
        await HoldAsync(owner, 1000, "1 hour");
        var model = $"test/refused-{Guid.NewGuid():N}";
        var refused = await client.PostChatAsync(Body(model, runId));
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal("""{"message":"Credits are held by calls in progress: 1000 of the 19 remaining are reserved for unfinished calls. Try again when they finish."}""",
            await refused.Content.ReadAsStringAsync());
        Assert.DoesNotContain(server.Upstream.Requests, r => (string?)r.Body["model"] == model);
        Assert.Equal(1000, await HeldAsync(owner, "AND expires_at > now()"));
    }

    [Fact]
    public async Task The_hold_counts_the_input_and_at_most_the_reserved_output_tokens()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user, 0);
        var runId = await server.StartRunAsync(client);
        var owner = "user:" + user.Id;
        server.Upstream.Hold = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // Opus's name holds nothing by itself in the fake: without this the call could be charged (and its hold
        // released) before the hold is read.
        server.Upstream.HoldAll = true;

        // The SDK's max_tokens 32,000 holds 4,000 output tokens; Opus ($15 / $75): a ~100 KB body ≈ 25,000 input tokens
        // = $0.375, 4,000 output = $0.30 → round-up(0.675 × 105.5) = 72 credits.
        var model = "anthropic/claude-opus-4.1";
        var body = ChatFixture.ChatBody(model, runId);
        body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "user", ["content"] = new string('x', 100_000) });
        var bytes = System.Text.Encoding.UTF8.GetByteCount(body.ToJsonString());
        var expected = (int)Math.Ceiling((bytes / 4 * 15m + 4000 * 75m) / 1_000_000m * 105.5m);
        Assert.InRange(expected, 70, 74);
        var call = client.PostChatAsync(body);
        await WaitUntilAsync(() => server.Upstream.Requests.Any(r => (string?)r.Body["model"] == model), "the call reached the provider");
        try { Assert.Equal(expected, await HeldAsync(owner)); }
        finally { server.Upstream.HoldAll = false; server.Upstream.Hold.SetResult(); }
        (await call).EnsureSuccessStatusCode();
        await AssertHeldAsync(owner, 0);
    }

    async Task HoldForAsync(Guid callId, string owner, int credits)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("INSERT INTO billing.reservation (call_id, owner, credits, expires_at) VALUES (@c, @o, @n, now() + interval '1 hour')", conn);
        cmd.Parameters.AddWithValue("c", callId);
        cmd.Parameters.AddWithValue("o", owner);
        cmd.Parameters.AddWithValue("n", credits);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_charge_replayed_from_a_dead_instances_journal_or_applied_before_releases_its_hold()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var owner = "user:" + user.Id;

        // Killed after answering, before its charge committed: the journal holds the charge, the table its hold.
        var lost = ChargeQueueTests.NewCharge(user.Id, 10);
        await HoldForAsync(lost.CallId, owner, 7);
        var dataDir = Path.Combine(Path.GetTempPath(), "codebuff-replay-" + Guid.NewGuid().ToString("N")[..12]);
        using (var dead = new Codebuff.Ledger.ChargeJournal(dataDir)) dead.Append(lost);
        await using (var next = await ServerFixture.StartServerAsync(server.ConnectionString, new()
        {
            ["Codebuff:AuthSecret"] = "test-auth-secret", ["Codebuff:DataDir"] = dataDir, ["Logging:LogLevel:Default"] = "Warning",
        }))
        {
            for (var i = 0; i < 300 && (await server.MessagesAsync(user.Id)).Count == 0; i++) await Task.Delay(100);
            await AssertHeldAsync(owner, 0);
        }
        Directory.Delete(dataDir, recursive: true);
        Assert.Equal(90, await server.BalanceAsync(user.Id));

        // The same charge again (a replay of a call applied before): not billed twice, and a hold of that call still ends.
        await HoldForAsync(lost.CallId, owner, 7);
        Assert.True(await server.Services.GetRequiredService<Codebuff.Ledger.ChargeQueue>().SubmitAsync(lost));
        await AssertHeldAsync(owner, 0);
        Assert.Equal((90, 1), (await server.BalanceAsync(user.Id), (await server.MessagesAsync(user.Id)).Count));
    }

    [Fact]
    public async Task The_sweep_forgets_expired_holds_only()
    {
        var owner = "user:sweep-" + Guid.NewGuid().ToString("N");
        await HoldAsync(owner, 5, "-1 second");
        await HoldAsync(owner, 3, "1 hour");
        await using (var db = server.NewDbContext()) await Codebuff.Ledger.Reservations.SweepAsync(db, CancellationToken.None);
        Assert.Equal(3, await HeldAsync(owner));
        Assert.Equal(3, await HeldAsync(owner, "AND expires_at > now()"));
    }
}
