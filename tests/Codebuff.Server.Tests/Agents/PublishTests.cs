using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

public sealed class PublishTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Concurrent_publishes_of_the_same_next_version_one_wins_the_others_get_409()
    {
        var user = await server.CreateUserAsync();
        var pub = await CreatePublisherAsync(server, user);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(server.ClientFor(user), Def("racer", pub))).StatusCode);

        // SHARE mode lets the publishes read (so all of them pick 0.0.2) but holds every INSERT until we let go.
        const int n = 4;
        await using var gate = new NpgsqlConnection(server.ConnectionString);
        await gate.OpenAsync();
        await using var tx = await gate.BeginTransactionAsync();
        await using (var lockCmd = new NpgsqlCommand("LOCK TABLE agent_config IN SHARE MODE", gate, tx)) await lockCmd.ExecuteNonQueryAsync();
        var requests = Enumerable.Range(0, n).Select(i => PublishAsync(server.ClientFor(user), Def("racer", pub, new { displayName = $"racer {i}" }))).ToList();
        await WaitForBlockedInsertsAsync(n);
        await tx.CommitAsync();

        var responses = await Task.WhenAll(requests);
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(n - 1, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        foreach (var conflict in responses.Where(r => r.StatusCode == HttpStatusCode.Conflict))
            AssertJson($$"""{"error":"Version already exists","details":"Agent 'racer' version '0.0.2' already exists for publisher '{{pub}}'"}""", (await BodyAsync(conflict)));
        Assert.Equal(["0.0.1", "0.0.2"], await VersionsAsync(server, pub, "racer"));
    }

    async Task WaitForBlockedInsertsAsync(int count)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        for (var i = 0; i < 200; i++)
        {
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE relation = 'agent_config'::regclass AND NOT granted", conn);
            if ((long)(await cmd.ExecuteScalarAsync())! >= count) return;
            await Task.Delay(50);
        }
        Assert.Fail("the publishes never reached their INSERT");
    }

    public enum Caller { UserOwner, OtherUser, OrgOwner, OrgAdmin, OrgMember, Outsider }

    [Theory]
    [InlineData(Caller.UserOwner, true)]
    [InlineData(Caller.OtherUser, false)]
    [InlineData(Caller.OrgOwner, true)]
    [InlineData(Caller.OrgAdmin, true)]
    [InlineData(Caller.OrgMember, false)]
    [InlineData(Caller.Outsider, false)]
    public async Task Permission_matrix(Caller caller, bool allowed)
    {
        var owner = await server.CreateUserAsync();
        var actor = await server.CreateUserAsync();
        string pub;
        if (caller is Caller.UserOwner or Caller.OtherUser)
        {
            pub = await CreatePublisherAsync(server, owner);
            if (caller == Caller.UserOwner) actor = owner;
        }
        else
        {
            var org = await CreateOrgAsync(server, owner);
            pub = await CreatePublisherAsync(server, owner, org);
            if (caller == Caller.OrgOwner) actor = owner;
            if (caller == Caller.OrgAdmin) await AddMemberAsync(server, org, actor, OrgRole.Admin);
            if (caller == Caller.OrgMember) await AddMemberAsync(server, org, actor, OrgRole.Member);
        }

        var response = await PublishAsync(server.ClientFor(actor), Def("guarded", pub));
        if (allowed)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(["0.0.1"], await VersionsAsync(server, pub, "guarded"));
        }
        else
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            AssertJson($$"""{"error":"Publisher not found or not accessible","details":"Publisher '{{pub}}' not found or you don't have permission to publish to it. Create a publisher at http://localhost:5000/publishers/new (or ask its owner to add you to its organization)."}""", (await BodyAsync(response)));
            Assert.Empty(await VersionsAsync(server, pub, "guarded"));
        }
    }

    [Fact]
    public async Task A_batch_with_a_bad_definition_writes_nothing()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);

        var invalid = await PublishAsync(client, Def("good", pub), Def("bad", pub, new { model = (string?)null, toolNames = new[] { "teleport" } }));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var body = await BodyAsync(invalid);
        Assert.Equal("Agent config validation failed", (string?)body["error"]);
        Assert.Equal(["model", "toolNames.0"], body["validationErrors"]!.AsArray().Select(e => (string?)e!["path"]));
        Assert.All(body["validationErrors"]!.AsArray(), e => Assert.Equal("bad", (string?)e!["filePath"]));
        Assert.Equal(string.Join("\n", body["validationErrors"]!.AsArray().Select(e => (string?)e!["message"])), (string?)body["details"]);

        // A later agent whose given version is refused, or whose sub-agent cannot be resolved, also stops the earlier ones.
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def("versioned", pub, new { version = "2.0.0" }))).StatusCode);
        var stale = await PublishAsync(client, Def("good", pub), Def("versioned", pub, new { version = "1.0.0" }));
        Assert.Equal(HttpStatusCode.BadRequest, stale.StatusCode);
        Assert.Equal("Version determination failed", (string?)(await BodyAsync(stale))["error"]);

        // "local-only" passes validation as a local agent, but has nothing published to resolve to.
        var unresolved = await client.PostAsJsonAsync("/api/agents/publish", new JsonObject
        {
            ["data"] = new JsonArray(Def("good", pub), Def("parent", pub, new { toolNames = new[] { "spawn_agents" }, spawnableAgents = new[] { "local-only" } })),
            ["allLocalAgentIds"] = new JsonArray("local-only"),
        });
        Assert.Equal(HttpStatusCode.BadRequest, unresolved.StatusCode);
        AssertJson("""{"error":"Invalid spawnable agent","details":"Invalid spawnable agent: 'local-only' has no published versions to resolve to.","hint":"To fix this, also publish the referenced agent (include it in the same request's data array, or publish it first for the same publisher)."}""", (await BodyAsync(unresolved)));

        await using var db = server.NewDbContext();
        Assert.Equal(["versioned"], await db.AgentConfigs.Where(a => a.PublisherId == pub).Select(a => a.Id).ToListAsync());
    }

    [Fact]
    public async Task Sub_agents_resolve_to_the_batch_the_publisher_or_the_codebuff_builtins()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def("helper", pub), Def("helper", pub, new { version = "0.3.0" }))).StatusCode);

        // Validation accepts a bare "helper" only as a local agent (the CLI sends allLocalAgentIds); publishing then pins it.
        var response = await client.PostAsJsonAsync("/api/agents/publish", new JsonObject
        {
            ["data"] = new JsonArray(
                Def("parent", pub, new { toolNames = new[] { "spawn_agents" }, spawnableAgents = new[] { "child", "file-picker", "helper", "codebuff/thinker@0.0.1" } }),
                Def("child", pub, new { version = "1.0.0" })),
            ["allLocalAgentIds"] = new JsonArray("helper"),
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var parent = await BodyAsync(await server.Client.GetAsync($"/api/agents/{pub}/parent/latest"));
        Assert.Equal([$"{pub}/child@1.0.0", "codebuff/file-picker@0.0.1", $"{pub}/helper@0.3.0", "codebuff/thinker@0.0.1"],
            parent["data"]!["spawnableAgents"]!.AsArray().Select(s => (string?)s));

        var unknownVersion = await PublishAsync(client, Def("p2", pub, new { toolNames = new[] { "spawn_agents" }, spawnableAgents = new[] { $"{pub}/helper@9.9.9" } }));
        Assert.Equal(HttpStatusCode.BadRequest, unknownVersion.StatusCode);
        Assert.Equal($"Invalid agent ID: {pub}/helper@9.9.9. Agent not found in database.", (string?)(await BodyAsync(unknownVersion))["validationErrors"]![0]!["message"]);
    }

    [Fact]
    public async Task Checks_run_in_the_spec_order_with_the_spec_bodies()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);

        var notJson = await client.PostAsync("/api/agents/publish", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        // [our choice] a body that is not JSON is the caller's mistake: 400, where upstream answers 500.
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        AssertJson("""{"error":"Invalid JSON in request body"}""", (await BodyAsync(notJson)));

        var schema = await client.PostAsJsonAsync("/api/agents/publish", new { data = new object[] { 5 }, allLocalAgentIds = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, schema.StatusCode);
        var schemaBody = await BodyAsync(schema);
        Assert.Equal("Invalid request body", (string?)schemaBody["error"]);
        Assert.Equal("data.0: Invalid input: expected record, received number; allLocalAgentIds: Invalid input: expected array, received string", (string?)schemaBody["details"]);
        Assert.Equal(["data", 0], schemaBody["validationErrors"]![0]!["path"]!.AsArray().Select(p => p!.GetValueKind() == JsonValueKind.Number ? (object)p.GetValue<int>() : p.GetValue<string>()));

        // Validation comes before authentication (upstream reveals validation errors to anonymous callers).
        var anonymousInvalid = await PublishAsync(server.Client, Def("BAD", pub));
        Assert.Equal(HttpStatusCode.BadRequest, anonymousInvalid.StatusCode);
        Assert.Equal("Agent config validation failed", (string?)(await BodyAsync(anonymousInvalid))["error"]);

        var anonymous = await PublishAsync(server.Client, Def("fine", pub));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        AssertJson("""{"error":"Unauthorized"}""", (await BodyAsync(anonymous)));

        var noPublisher = await PublishAsync(client, Def("a1", null), Def("a2", pub), Def("a3", null));
        AssertJson("""{"error":"Publisher field required","details":"All agents must have the \"publisher\" field set. Missing for agents: a1, a3"}""", (await BodyAsync(noPublisher)));

        var twoPublishers = await PublishAsync(client, Def("a1", pub), Def("a2", "someone-else"));
        Assert.Equal(HttpStatusCode.BadRequest, twoPublishers.StatusCode);
        Assert.Equal($"All agents in a single request must use the same publisher. Found: {pub}, someone-else", (string?)(await BodyAsync(twoPublishers))["details"]);

        var unknown = await PublishAsync(client, Def("a1", "no-such-publisher"));
        Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);

        // The legacy body authToken authenticates when there is no header.
        var legacy = await server.Client.PostAsJsonAsync("/api/agents/publish", new JsonObject
        {
            ["data"] = new JsonArray(Def("legacy", pub)),
            ["authToken"] = user.ApiKey,
        });
        Assert.Equal(HttpStatusCode.Created, legacy.StatusCode);

        await using var db = server.NewDbContext();
        Assert.Equal(["legacy"], await db.AgentConfigs.Where(a => a.PublisherId == pub).Select(a => a.Id).ToListAsync());
    }

    [Fact]
    public async Task Stores_the_normalised_template()
    {
        var user = await server.CreateUserAsync();
        var pub = await CreatePublisherAsync(server, user);
        var response = await PublishAsync(server.ClientFor(user), Def("norm", pub, new { unknownField = 1, instructionsPrompt = "Do it" }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var data = (await BodyAsync(await server.Client.GetAsync($"/api/agents/{pub}/norm/0.0.1")))["data"]!.AsObject();
        Assert.Equal(
            ["displayName", "id", "includeMessageHistory", "inheritParentSystemPrompt", "instructionsPrompt", "mcpServers", "model", "outputMode", "publisher",
             "spawnableAgents", "stepPrompt", "systemPrompt", "toolNames", "version"],
            data.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("", (string?)data["systemPrompt"]);
        Assert.Equal("last_message", (string?)data["outputMode"]);
        Assert.False((bool)data["includeMessageHistory"]!);
    }
}
