using Codebuff.Server.Tests.Infrastructure;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

/// <summary>The shipped store staleness (30 s) on a clock the test moves, the dashboard read routes, and the per-IP limit on public reads.</summary>
public sealed class StoreSnapshotFixture : ServerFixture
{
    public FakeClock Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings.Remove("Codebuff:Reads:StoreMaxAgeSeconds");
        return settings;
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);
}

public sealed class StoreSnapshotTests(StoreSnapshotFixture server) : IClassFixture<StoreSnapshotFixture>
{
    [Fact]
    public async Task New_read_routes_name_the_parameter_they_refuse()
    {
        var client = server.ClientFor(await server.CreateUserAsync());
        foreach (var (url, error) in new[]
        {
            ("/api/runs?limit=0", "limit must be an integer from 1 to 100"),
            ("/api/runs?cursor=nonsense", "cursor is not one this route returned"),
            ("/api/user/usage/daily?days=367", "days must be an integer from 1 to 366"),
            ("/api/agents/codebuff/base/0.0.1/stats?days=0", "days must be an integer from 1 to 365"),
        })
        {
            var response = await client.GetAsync(url);
            Assert.Equal((HttpStatusCode.BadRequest, $$"""{"error":"{{error}}"}"""), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        }
    }

    [Fact]
    public async Task The_store_answers_from_memory_for_30_seconds_while_version_stats_runs_and_daily_usage_are_exact_at_once()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        var agent = NewId("snap");
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def(agent, pub))).StatusCode);
        var before = (await server.Client.GetFromJsonAsync<JsonArray>($"/api/agents?search={pub}"))!;
        Assert.Equal(0, (int)before.Single()!["usage_count"]!);

        var start = await BodyAsync(await client.PostAsJsonAsync("/api/v1/agent-runs", new { action = "START", agentId = $"{pub}/{agent}@0.0.1", ancestorRunIds = Array.Empty<string>() }));
        var runId = (string)start["runId"]!;
        server.Clock.Advance(TimeSpan.FromSeconds(1));
        var child = (string)(await BodyAsync(await client.PostAsJsonAsync("/api/v1/agent-runs", new { action = "START", agentId = "helper", ancestorRunIds = new[] { runId } })))["runId"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/agent-runs",
            new { action = "FINISH", runId, status = "completed", totalSteps = 2, directCredits = 7, totalCredits = 12 })).StatusCode);

        // Served from the snapshot: the finished run is not there yet...
        Assert.Equal(0, (int)(await server.Client.GetFromJsonAsync<JsonArray>($"/api/agents?search={pub}"))!.Single()!["usage_count"]!);
        Assert.Null((await BodyAsync(await server.Client.GetAsync("/api/agents/metrics")))[$"{pub}/{agent}"]);
        // ...while the version's statistics read the rollup FINISH wrote, exact at once.
        var stats = await BodyAsync(await server.Client.GetAsync($"/api/agents/{pub}/{agent}/0.0.1/stats"));
        Assert.Equal((1, 12m), ((int)stats["runs"]!, (decimal)stats["credits"]!));
        Assert.Equal(DateOnly.FromDateTime(server.Clock.Now.UtcDateTime).ToString("yyyy-MM-dd"), (string?)stats["days"]!.AsArray().Single()!["date"]);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync($"/api/agents/{pub}/{agent}/9.9.9/stats")).StatusCode);

        // The caller's runs, newest first, one per page, and the trace of the tree.
        var first = await BodyAsync(await client.GetAsync("/api/runs?limit=1"));
        Assert.Equal(child, (string?)first["runs"]![0]!["id"]);
        var second = await BodyAsync(await client.GetAsync($"/api/runs?limit=1&cursor={Uri.EscapeDataString((string)first["next_cursor"]!)}"));
        Assert.Equal((runId, "completed"), ((string?)second["runs"]![0]!["id"], (string?)second["runs"]![0]!["status"]));
        Assert.Null(second["next_cursor"]);
        var trace = await BodyAsync(await client.GetAsync($"/api/runs/{child}/trace"));
        Assert.Equal(runId, (string?)trace["root_run_id"]);
        Assert.Equal([runId, child], trace["runs"]!.AsArray().Select(r => (string?)r!["id"]));
        var stranger = server.ClientFor(await server.CreateUserAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/runs/{runId}/trace")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/api/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/runs?cursor=nonsense")).StatusCode);

        // Daily credits: 30 days ending today, all zero for a user without billed calls.
        var daily = (await BodyAsync(await client.GetAsync("/api/user/usage/daily")))["days"]!.AsArray();
        Assert.Equal(30, daily.Count);
        Assert.All(daily, d => Assert.Equal(0, (int)d!["credits"]!));

        // Past the 30 s: the next read answers from the old snapshot and starts one rebuild; a later read sees the run.
        server.Clock.Advance(TimeSpan.FromSeconds(31));
        JsonNode? entry = null;
        for (var i = 0; i < 50 && (int?)entry?["usage_count"] != 1; i++)
        {
            entry = (await server.Client.GetFromJsonAsync<JsonArray>($"/api/agents?search={pub}"))!.Single();
            if ((int)entry!["usage_count"]! != 1) await Task.Delay(100);
        }
        Assert.Equal((1, 12m, 1), ((int)entry!["usage_count"]!, (decimal)entry["total_credits"]!, (int)entry["unique_users"]!));
    }
}

public sealed class PublicReadLimitFixture : ServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Codebuff:RateLimits:PublicReadsPerMinute"] = "40";
        return settings;
    }
}

public sealed class PublicReadLimitTests(PublicReadLimitFixture server) : IClassFixture<PublicReadLimitFixture>
{
    [Fact]
    public async Task Public_reads_are_limited_per_client_ip()
    {
        HttpResponseMessage last = null!;
        for (var i = 0; i < 41; i++)
            Assert.Equal(i < 40 ? HttpStatusCode.OK : HttpStatusCode.TooManyRequests, (last = await server.Client.GetAsync("/api/agents/metrics")).StatusCode);
        Assert.True(last.Headers.RetryAfter is not null);
        Assert.StartsWith("Too many requests", (string?)(await BodyAsync(last))["error"]);
    }
}
