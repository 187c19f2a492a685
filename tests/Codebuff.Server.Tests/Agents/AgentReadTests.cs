using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

public sealed class AgentReadTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Get_by_version_and_latest_with_the_spec_bodies()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def("reader", pub, new { version = "1.0.0" }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def("reader", pub, new { version = "1.2.0", displayName = "Newer" }))).StatusCode);

        foreach (var prefix in new[] { "/api/agents", "/api/v1/agents" })
        {
            var latest = await BodyAsync(await server.Client.GetAsync($"{prefix}/{pub}/reader/latest"));
            Assert.Equal("1.2.0", (string?)latest["version"]);
            Assert.Equal(pub, (string?)latest["publisherId"]);
            Assert.Equal("reader", (string?)latest["id"]);
            Assert.Equal("Newer", (string?)latest["data"]!["displayName"]);
            var old = await BodyAsync(await server.Client.GetAsync($"{prefix}/{pub}/reader/1.0.0"));
            Assert.Equal("Agent reader", (string?)old["data"]!["displayName"]);
            Assert.Equal("1.0.0", (string?)old["data"]!["version"]);

            var noPublisher = await server.Client.GetAsync($"{prefix}/nobody-here/reader/latest");
            Assert.Equal(HttpStatusCode.NotFound, noPublisher.StatusCode);
            AssertJson("""{"error":"Publisher not found"}""", await BodyAsync(noPublisher));
            var noAgent = await server.Client.GetAsync($"{prefix}/{pub}/reader/9.9.9");
            Assert.Equal(HttpStatusCode.NotFound, noAgent.StatusCode);
            AssertJson("""{"error":"Agent not found"}""", await BodyAsync(noAgent));
            AssertJson("""{"error":"Agent not found"}""", await BodyAsync(await server.Client.GetAsync($"{prefix}/{pub}/nothing/latest")));
        }

        var agents = await BodyAsync(await server.Client.GetAsync($"/api/publishers/{pub}/agents"));
        var entry = agents["agents"]!.AsArray().Single()!;
        Assert.Equal(("reader", "1.2.0", 2, "Newer"), ((string?)entry["id"], (string?)entry["latestVersion"], (int)entry["versionCount"]!, (string?)entry["displayName"]));
    }

    [Fact]
    public async Task Store_lists_latest_versions_with_usage_from_completed_runs()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        var busy = NewId("busy");
        var quiet = NewId("quiet");
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def(busy, pub, new { spawnerPrompt = "Finds zebras in code" }), Def(quiet, pub))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def(busy, pub, new { spawnerPrompt = "Finds zebras in code" }))).StatusCode);

        var other = await server.CreateUserAsync();
        // Runs start as rows with the start times the test needs, then finish through the real FINISH route, which
        // keeps the store's rollups.
        var finishes = new List<(TestUser User, string RunId, string Status, decimal Credits)>();
        await using (var db = server.NewDbContext())
        {
            var now = DateTime.UtcNow;
            void Run(string agentId, string status, decimal credits, TestUser by, DateTime at)
            {
                var run = new AgentRun { Id = Guid.NewGuid().ToString(), UserId = by.Id, AgentId = agentId, Status = AgentRunStatus.Running, CreatedAt = at, AncestorRunIds = [] };
                db.AgentRuns.Add(run);
                if (status != "running") finishes.Add((by, run.Id, status, credits));
            }
            Run($"{pub}/{busy}@0.0.1", "completed", 10, user, now.AddDays(-30));
            Run($"{pub}/{busy}@0.0.2", "completed", 20, other, now.AddHours(-1));
            Run($"{pub}/{busy}@0.0.2", "completed", 30, other, now.AddHours(-2));
            Run($"{pub}/{busy}@0.0.2", "failed", 1000, user, now);
            Run($"{pub}/{busy}@0.0.2", "running", 1000, user, now);
            Run(busy, "completed", 1000, user, now); // a bare id is not a store agent
            Run($"{pub}/{quiet}@0.0.1", "completed", 5, user, now);
            await db.SaveChangesAsync();
        }
        foreach (var (by, runId, status, credits) in finishes)
        {
            var finished = await server.ClientFor(by).PostAsJsonAsync("/api/v1/agent-runs",
                new { action = "FINISH", runId, status, totalSteps = 1, directCredits = credits, totalCredits = credits });
            Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        }

        var listed = (await server.Client.GetFromJsonAsync<JsonArray>($"/api/agents?sort=usage&search={pub}&limit=10"))!;
        Assert.Equal([busy, quiet], listed.Select(a => (string?)a!["id"]));
        var b = listed[0]!;
        Assert.Equal("0.0.2", (string?)b["version"]);
        Assert.Equal(3, (int)b["usage_count"]!);
        Assert.Equal(60m, (decimal)b["total_credits"]!);
        Assert.Equal(0.6m, (decimal)b["total_spent"]!);
        Assert.Equal(2, (int)b["weekly_runs"]!);
        Assert.Equal(50m, (decimal)b["weekly_credits"]!);
        Assert.Equal(2, (int)b["unique_users"]!);
        Assert.Equal(pub, (string?)b["publisher"]!["id"]);
        Assert.Equal("Finds zebras in code", (string?)b["description"]);

        var bySearch = (await server.Client.GetFromJsonAsync<JsonArray>("/api/agents?search=ZEBRAS"))!;
        Assert.Equal([busy], bySearch.Select(a => (string?)a!["id"]));
        var recent = (await server.Client.GetFromJsonAsync<JsonArray>($"/api/agents?sort=recent&search={pub}"))!;
        Assert.Equal([busy, quiet], recent.Select(a => (string?)a!["id"])); // busy's latest version is the newer row
        Assert.Empty((await server.Client.GetFromJsonAsync<JsonArray>("/api/agents?search=100%25_no_such"))!);

        var bad = await server.Client.GetAsync("/api/agents?sort=random");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.StartsWith("Invalid sort 'random'", (string?)(await BodyAsync(bad))["error"]);

        var metrics = await BodyAsync(await server.Client.GetAsync("/api/agents/metrics"));
        var m = metrics[$"{pub}/{busy}"]!;
        Assert.Equal((3, 2, 0.6m, 0.5m, 2), ((int)m["usage_count"]!, (int)m["weekly_runs"]!, (decimal)m["total_spent"]!, (decimal)m["weekly_spent"]!, (int)m["unique_users"]!));
        Assert.Null(metrics[busy]);

        var versions = await BodyAsync(await server.Client.GetAsync($"/api/agents/{pub}/{busy}"));
        Assert.Equal([("0.0.2", 2, 50m), ("0.0.1", 1, 10m)],
            versions["versions"]!.AsArray().Select(v => ((string?)v!["version"], (int)v["runs"]!, (decimal)v["credits"]!)));
    }
}
