using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.AgentRuns;

public sealed class AgentRunTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    // The SDK posts these bodies as a JSON string with no Content-Type: fetch labels them text/plain.
    static StringContent Text(string json) => new(json);

    static async Task<JsonObject> JsonAsync(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonObject>())!;

    async Task<string> StartAsync(HttpClient client, string agentId, params string[] ancestors)
    {
        var response = await client.PostAsync("/api/v1/agent-runs", Text(new JsonObject
        {
            ["action"] = "START", ["agentId"] = agentId, ["ancestorRunIds"] = new JsonArray(ancestors.Select(a => (JsonNode)a!).ToArray()),
        }.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (string)(await JsonAsync(response))["runId"]!;
    }

    static string Finish(string runId, string status = "completed", decimal direct = 1.5m, decimal total = 3) =>
        $$"""{"action":"FINISH","runId":"{{runId}}","status":"{{status}}","totalSteps":2,"directCredits":{{direct}},"totalCredits":{{total}}}""";

    async Task<AgentRun> RunAsync(string id)
    {
        await using var db = server.NewDbContext();
        return await db.AgentRuns.AsNoTracking().SingleAsync(r => r.Id == id);
    }

    [Fact]
    public async Task Start_reads_a_json_body_labelled_text_plain_and_creates_a_running_run_owned_by_the_caller()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var response = await client.PostAsync("/api/v1/agent-runs", Text("""{"action":"START","agentId":"my-agent"}"""));
        Assert.Equal("text/plain", response.RequestMessage!.Content!.Headers.ContentType!.MediaType);
        var runId = (string)(await JsonAsync(response))["runId"]!;
        Assert.True(Guid.TryParse(runId, out _));
        var run = await RunAsync(runId);
        Assert.Equal((user.Id, "my-agent", AgentRunStatus.Running), (run.UserId, run.AgentId, run.Status));
        Assert.Equal([], run.AncestorRunIds!);
        Assert.Equal((1, runId, (string?)null), (run.Depth, run.RootRunId, run.ParentRunId));
        Assert.Null(run.CompletedAt);
    }

    [Fact]
    public async Task Nested_runs_get_their_generated_tree_columns_durations_and_spawn_counts()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var root = await StartAsync(client, "codebuff/base@1.2.3");
        var child = await StartAsync(client, "sa-child", root);
        var grandchild = await StartAsync(client, "sa-grandchild", root, child);

        var startTime = DateTime.UtcNow.AddSeconds(-5);
        var step = await client.PostAsync($"/api/v1/agent-runs/{root}/steps", Text($$"""
            {"stepNumber":1,"credits":2.5,"childRunIds":["{{child}}","other"],"messageId":"gen-1","status":"completed","startTime":"{{startTime:yyyy-MM-ddTHH:mm:ss.fffZ}}"}
            """));
        Assert.Equal(HttpStatusCode.OK, step.StatusCode);
        var stepId = (string)(await JsonAsync(step))["stepId"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/agent-runs", Text(Finish(child)))).StatusCode);

        var r = await RunAsync(root);
        Assert.Equal((1, root, (string?)null, "codebuff", "base", "1.2.3"), (r.Depth, r.RootRunId, r.ParentRunId, r.PublisherId, r.AgentName, r.AgentVersion));
        var c = await RunAsync(child);
        Assert.Equal((1, root, root, (string?)null, "sa-child"), (c.Depth, c.RootRunId, c.ParentRunId, c.PublisherId, c.AgentName));
        Assert.Equal(AgentRunStatus.Completed, c.Status);
        Assert.NotNull(c.CompletedAt);
        Assert.NotNull(c.DurationMs);
        Assert.Equal((2, 1.5m, 3m), (c.TotalSteps, c.DirectCredits, c.TotalCredits));
        var g = await RunAsync(grandchild);
        Assert.Equal((2, root, child), (g.Depth, g.RootRunId, g.ParentRunId));
        Assert.Null(g.DurationMs);

        await using var db = server.NewDbContext();
        var s = await db.AgentSteps.AsNoTracking().SingleAsync(x => x.Id == stepId);
        Assert.Equal((root, 1, 2.5m, 2, "gen-1", AgentStepStatus.Completed), (s.AgentRunId, s.StepNumber, s.Credits, s.SpawnedCount, s.MessageId, s.Status));
        Assert.Equal(startTime.ToString("O")[..23], s.CreatedAt.ToString("O")[..23]);
        Assert.InRange(s.DurationMs!.Value, 4000, 60000);
    }

    [Fact]
    public async Task A_run_finishes_once()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var runId = await StartAsync(client, "a");
        Assert.Equal("""{"success":true}""", await (await client.PostAsync("/api/v1/agent-runs", Text(Finish(runId, "failed")))).Content.ReadAsStringAsync());
        var first = await RunAsync(runId);

        var again = await client.PostAsync("/api/v1/agent-runs", Text(Finish(runId, "completed", 9, 9)));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("Agent run is already finished (status failed)", (string?)(await JsonAsync(again))["error"]);
        var after = await RunAsync(runId);
        Assert.Equal((AgentRunStatus.Failed, 1.5m, first.CompletedAt), (after.Status, after.DirectCredits, after.CompletedAt));
    }

    [Fact]
    public async Task Ancestors_that_are_another_users_runs_are_refused_and_nothing_is_stored()
    {
        var victim = await server.CreateUserAsync();
        var foreignRun = await StartAsync(server.ClientFor(victim), "victim-root");
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var ownRun = await StartAsync(client, "own-root");

        var response = await client.PostAsync("/api/v1/agent-runs", Text($$"""{"action":"START","agentId":"graft","ancestorRunIds":["{{ownRun}}","{{foreignRun}}"]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("""{"error":"Invalid request body","details":{"_errors":[],"ancestorRunIds":{"_errors":[],"1":{"_errors":["Not an agent run of yours"]}}}}""",
            await response.Content.ReadAsStringAsync());
        await using var db = server.NewDbContext();
        Assert.False(await db.AgentRuns.AnyAsync(r => r.AgentId == "graft"));
        Assert.False(await db.AgentRuns.AnyAsync(r => r.AncestorRunIds!.Contains(foreignRun)));

        // The caller's own runs and ids that name no run at all (api.md §2.3: ancestors may belong to nobody) are fine.
        var child = await StartAsync(client, "child", ownRun, Guid.NewGuid().ToString());
        Assert.Equal(ownRun, (await RunAsync(child)).RootRunId);
    }

    [Theory]
    [InlineData(10, false)]
    [InlineData(30, true)]
    [InlineData(400, true)]
    public async Task Finish_long_after_start_is_defined_the_duration_is_capped_where_the_integer_would_overflow(int daysAgo, bool capped)
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var runId = await StartAsync(client, "long-runner");
        var startedAt = DateTime.UtcNow.AddDays(-daysAgo);
        await using (var db = server.NewDbContext())
            await db.AgentRuns.Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.CreatedAt, startedAt));

        var response = await client.PostAsync("/api/v1/agent-runs", Text(Finish(runId)));
        Assert.Equal((HttpStatusCode.OK, """{"success":true}"""), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        var run = await RunAsync(runId);
        Assert.Equal(AgentRunStatus.Completed, run.Status);
        if (capped)
        {
            // 2147483 s: the longest whole-second span duration_ms (an integer of milliseconds) can hold.
            Assert.Equal(2_147_483_000, run.DurationMs);
            Assert.Equal(run.CreatedAt.AddSeconds(2_147_483), run.CompletedAt);
        }
        else
        {
            Assert.InRange(run.CompletedAt!.Value, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
            Assert.InRange(run.DurationMs!.Value, 10 * 86_400_000 - 60_000, 10 * 86_400_000 + 60_000);
        }
    }

    [Fact]
    public async Task Finish_of_someone_elses_or_an_unknown_run_answers_success_and_writes_nothing()
    {
        var owner = await server.CreateUserAsync();
        var runId = await StartAsync(server.ClientFor(owner), "a");
        var intruder = server.ClientFor(await server.CreateUserAsync());
        foreach (var id in new[] { runId, Guid.NewGuid().ToString() })
        {
            var response = await intruder.PostAsync("/api/v1/agent-runs", Text(Finish(id)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("""{"success":true}""", await response.Content.ReadAsStringAsync());
        }
        var run = await RunAsync(runId);
        Assert.Equal((AgentRunStatus.Running, (DateTime?)null, 0m), (run.Status, run.CompletedAt, run.TotalCredits));
    }

    [Fact]
    public async Task Steps_refuse_unknown_foreign_and_finished_runs()
    {
        var owner = await server.CreateUserAsync();
        var client = server.ClientFor(owner);
        var runId = await StartAsync(client, "a");
        const string step = """{"stepNumber":1,"credits":1}""";

        var unknown = await client.PostAsync($"/api/v1/agent-runs/{Guid.NewGuid()}/steps", Text(step));
        Assert.Equal((HttpStatusCode.NotFound, "Agent run not found"), (unknown.StatusCode, (string?)(await JsonAsync(unknown))["error"]));
        var foreign = await server.ClientFor(await server.CreateUserAsync()).PostAsync($"/api/v1/agent-runs/{runId}/steps", Text(step));
        Assert.Equal((HttpStatusCode.Forbidden, "Unauthorized to add steps to this run"), (foreign.StatusCode, (string?)(await JsonAsync(foreign))["error"]));
        await client.PostAsync("/api/v1/agent-runs", Text(Finish(runId)));
        var finished = await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text(step));
        Assert.Equal(HttpStatusCode.Conflict, finished.StatusCode);
        Assert.StartsWith("Agent run is not running", (string?)(await JsonAsync(finished))["error"]);

        await using var db = server.NewDbContext();
        Assert.False(await db.AgentSteps.AnyAsync(s => s.AgentRunId == runId));
    }

    [Fact]
    public async Task A_duplicate_step_number_returns_the_existing_step_id_and_keeps_the_first_row()
    {
        var client = server.ClientFor(await server.CreateUserAsync());
        var runId = await StartAsync(client, "a");
        var first = (string)(await JsonAsync(await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text("""{"stepNumber":1,"credits":1,"messageId":"m1"}"""))))["stepId"]!;
        var second = await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text("""{"stepNumber":1,"credits":7,"messageId":"m2"}"""));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(first, (string?)(await JsonAsync(second))["stepId"]);

        await using var db = server.NewDbContext();
        var row = await db.AgentSteps.AsNoTracking().SingleAsync(s => s.AgentRunId == runId);
        Assert.Equal((first, 1m, "m1", (int?)null), (row.Id, row.Credits, row.MessageId, row.SpawnedCount));
    }

    [Theory]
    [InlineData("""{"action":"START"}""", """{"_errors":[],"agentId":{"_errors":["Required"]}}""")]
    [InlineData("""{"action":"STOP","agentId":"a"}""", """{"_errors":[],"action":{"_errors":["Invalid enum value. Expected 'START' | 'FINISH', received 'STOP'"]}}""")]
    [InlineData("""{"action":"START","agentId":"a","ancestorRunIds":["x",3]}""", """{"_errors":[],"ancestorRunIds":{"_errors":[],"1":{"_errors":["Expected string, received number"]}}}""")]
    [InlineData("""{"action":"FINISH","runId":"r","status":"done","totalSteps":1.5,"directCredits":-1,"totalCredits":100000}""",
        """{"_errors":[],"status":{"_errors":["Invalid enum value. Expected 'completed' | 'failed' | 'cancelled', received 'done'"]},"totalSteps":{"_errors":["Expected integer, received float"]},"directCredits":{"_errors":["Number must be greater than or equal to 0"]},"totalCredits":{"_errors":["Number must be less than or equal to 9999.999999"]}}""")]
    public async Task Schema_failures_get_400_with_a_zod_tree_and_write_nothing(string body, string details)
    {
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).PostAsync("/api/v1/agent-runs", Text(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = await JsonAsync(response);
        Assert.Equal("Invalid request body", (string?)json["error"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(details), json["details"]), json["details"]!.ToJsonString());
        await using var db = server.NewDbContext();
        Assert.False(await db.AgentRuns.AnyAsync(r => r.UserId == user.Id));
    }

    [Fact]
    public async Task Step_schema_failures_and_bad_json_get_400()
    {
        var client = server.ClientFor(await server.CreateUserAsync());
        var runId = await StartAsync(client, "a");
        var bad = await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text("""{"stepNumber":-1,"status":"weird","startTime":"2020-01-01T00:00:00Z","childRunIds":"x"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var details = (await JsonAsync(bad))["details"]!;
        Assert.NotNull(details["stepNumber"]);
        Assert.NotNull(details["status"]);
        Assert.NotNull(details["startTime"]);
        Assert.NotNull(details["childRunIds"]);
        var notJson = await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text("{oops"));
        Assert.Equal("""{"error":"Invalid JSON in request body"}""", await notJson.Content.ReadAsStringAsync());
        var notJsonRun = await client.PostAsync("/api/v1/agent-runs", Text("[1,2"));
        Assert.Equal(HttpStatusCode.BadRequest, notJsonRun.StatusCode);
        Assert.Equal("""{"error":"Invalid JSON in request body"}""", await notJsonRun.Content.ReadAsStringAsync());
        await using var db = server.NewDbContext();
        Assert.False(await db.AgentSteps.AnyAsync(s => s.AgentRunId == runId));
    }

    [Fact]
    public async Task Missing_and_unknown_tokens_are_refused()
    {
        var missing = await server.Client.PostAsync("/api/v1/agent-runs", Text("""{"action":"START","agentId":"a"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Missing or invalid Authorization header", (string?)(await JsonAsync(missing))["error"]);
        using var bad = new HttpClient { BaseAddress = server.BaseAddress };
        bad.DefaultRequestHeaders.Authorization = new("Bearer", "cb-pat-unknown");
        foreach (var path in new[] { "/api/v1/agent-runs", $"/api/v1/agent-runs/{Guid.NewGuid()}/steps" })
        {
            var unknown = await bad.PostAsync(path, Text("""{"action":"START","agentId":"a","stepNumber":1}"""));
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
            Assert.Equal("Invalid API key or user not found", (string?)(await JsonAsync(unknown))["error"]);
        }
    }
}
