using Codebuff.Server.Tests.Infrastructure;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

public sealed class ValidateTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    async Task<JsonObject> ValidateAsync(object body)
    {
        var response = await server.Client.PostAsJsonAsync("/api/agents/validate", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await BodyAsync(response);
    }

    [Fact]
    public async Task Reports_every_error_of_every_definition_with_its_path()
    {
        var broken = new JsonObject
        {
            ["id"] = "broken",
            ["displayName"] = "Broken",
            ["toolNames"] = new JsonArray("read_files", "teleport", "github/create_issue", "files/read"),
            ["mcpServers"] = new JsonObject { ["files"] = new JsonObject { ["command"] = "mcp-files", ["args"] = new JsonArray("--ro"), ["bogus"] = true } },
            ["spawnableAgents"] = new JsonArray("thinker"),
            ["inputSchema"] = new JsonObject
            {
                ["prompt"] = new JsonObject { ["type"] = "number" },
                ["params"] = new JsonObject { ["type"] = "array", ["properties"] = new JsonObject { ["x"] = new JsonObject { ["type"] = "text" } } },
            },
            ["outputMode"] = "json",
            ["outputSchema"] = new JsonObject { ["type"] = "object" },
            ["inheritParentSystemPrompt"] = true,
            ["systemPrompt"] = "You are…",
            ["handleSteps"] = "async function () {}",
            ["stepPrompt"] = 42,
        };
        var body = await ValidateAsync(new { agentDefinitions = new JsonNode[] { Def("fine", null), broken, new JsonObject { ["displayName"] = "No id" } } });

        Assert.Equal(["fine"], body["configs"]!.AsArray().Select(c => (string?)c));
        Assert.True((bool)body["success"]!);
        var errors = body["validationErrors"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(errors.Count, (int)body["errorCount"]!);
        Assert.Equal(
            ["model", "mcpServers.files", "inputSchema.prompt.type", "inputSchema.params.properties.x.type", "inputSchema.params.type",
             "outputMode", "stepPrompt", "toolNames.1", "toolNames.2", "toolNames", "systemPrompt", "handleSteps"],
            errors.Where(e => (string?)e["filePath"] == "broken").Select(e => (string?)e["path"]));
        Assert.Equal("""Agent "broken" (Broken): Schema validation failed: model: Invalid input: expected string, received undefined""", (string?)errors[0]["message"]);
        Assert.Contains(errors, e => (string?)e["message"] == """Agent "broken" (Broken): Schema validation failed: mcpServers.files: Unrecognized key: "bogus" """.TrimEnd());
        Assert.Contains(errors, e => (string?)e["message"] == """Agent "broken" (Broken): handleSteps must be a generator function: "function* (params) { ... }". Found: async function () {}...""");
        Assert.Contains(errors, e => ((string?)e["message"])!.Contains("Non-empty spawnableAgents array requires the 'spawn_agents' tool"));

        var noId = errors.Where(e => (string?)e["filePath"] == "agentDefinitions[2]").ToList();
        Assert.Equal(["id", "model"], noId.Select(e => (string?)e["path"]));
        Assert.StartsWith("Agent in agentDefinitions[2]: Schema validation failed: id:", (string?)noId[0]["message"]);
    }

    [Fact]
    public async Task Accepts_what_the_sdk_accepts()
    {
        var full = Def("full", "someone", new
        {
            version = "1.0.0",
            toolNames = new[] { "spawn_agents", "set_output", "files/read" },
            spawnableAgents = new[] { "helper", "file-picker", "local-agent", "codebuff/base@0.0.1", "codebuff/thinker@latest" },
            mcpServers = new Dictionary<string, object>
            {
                ["files"] = new { command = "mcp-files" },
                ["web"] = new { type = "sse", url = "http://127.0.0.1:1/mcp", headers = new { a = "b" } },
            },
            inputSchema = new { prompt = new { type = "string", description = "what" }, @params = new { type = "object", properties = new { n = new { type = "integer" }, flag = true }, required = new[] { "n" } } },
            outputMode = "structured_output",
            outputSchema = new { type = "object", properties = new { message = new { type = "string" } } },
            reasoningOptions = new { enabled = true, effort = "high" },
            providerOptions = new { order = new[] { "openai" }, sort = "price", max_price = new { prompt = 1 } },
            includeMessageHistory = true,
            handleSteps = "  function* ({ agentState }) { yield 'STEP_ALL' }",
        });
        var body = await ValidateAsync(new { agentConfigs = new[] { full, Def("helper", null) }, allLocalAgentIds = new[] { "local-agent" } });
        AssertJson("""{"success":true,"configs":["full","helper"],"validationErrors":[],"errorCount":0}""", body);
    }

    [Fact]
    public async Task Unknown_spawnable_refs_are_the_only_errors_reported()
    {
        var body = await ValidateAsync(new
        {
            agentDefinitions = new[]
            {
                Def("parent", null, new { toolNames = new[] { "spawn_agents" }, spawnableAgents = new[] { "nobody", "pub/agent", "ghost/agent@1.0.0", "codebuff/base@9.9.9" } }),
                Def("BAD ID", null),
            },
        });
        AssertJson("""
            {"success":true,"configs":[],"validationErrors":[
              {"filePath":"nobody","message":"Invalid agent ID: nobody. Not found. You must include the publisher, agent id, and version if the agent is not defined locally."},
              {"filePath":"pub/agent","message":"Invalid agent ID: pub/agent. Not found. You must include the publisher, agent id, and version if the agent is not defined locally."},
              {"filePath":"ghost/agent@1.0.0","message":"Invalid agent ID: ghost/agent@1.0.0. Agent not found in database."},
              {"filePath":"codebuff/base@9.9.9","message":"Invalid agent ID: codebuff/base@9.9.9. Agent not found in database."}
            ],"errorCount":4}
            """, body);
    }

    [Fact]
    public async Task Bad_requests_get_the_spec_bodies()
    {
        var notArray = await server.Client.PostAsJsonAsync("/api/agents/validate", new { agentDefinitions = "nope" });
        Assert.Equal(HttpStatusCode.BadRequest, notArray.StatusCode);
        AssertJson("""{"error":"Invalid request: agentDefinitions must be an array of AgentDefinition objects"}""", await BodyAsync(notArray));

        var notJson = await server.Client.PostAsync("/api/agents/validate", new StringContent("[", System.Text.Encoding.UTF8, "application/json"));
        // [our choice] a body that is not JSON is the caller's mistake: 400, where upstream answers 500.
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        AssertJson("""{"error":"Invalid JSON in request body"}""", await BodyAsync(notJson));

        var notObjects = await ValidateAsync(new { agentDefinitions = new object?[] { 5, null } });
        Assert.Equal(["agentDefinitions[0]", "agentDefinitions[1]"], notObjects["validationErrors"]!.AsArray().Select(e => (string?)e!["filePath"]));
    }
}
