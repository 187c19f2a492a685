using System.Diagnostics;
using Codebuff.Server.Agents;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

public sealed class BuiltinAgentTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_default_set_is_published_under_codebuff_at_start()
    {
        Assert.Superset(new HashSet<string> { "base", "base2", "ask", "file-picker", "code-searcher", "researcher", "thinker", "editor", "reviewer", "context-pruner", "commander" },
            BuiltinAgents.Ids.ToHashSet());
        await using var db = server.NewDbContext();
        var publisher = await db.Publishers.SingleAsync(p => p.Id == "codebuff");
        var system = await db.Users.SingleAsync(u => u.Email == BuiltinAgents.SystemUserEmail);
        Assert.Equal(system.Id, publisher.UserId);
        Assert.Equal(system.Id, publisher.CreatedBy);
        Assert.Null(publisher.OrgId);
        Assert.Equal(BuiltinAgents.Ids.Order(), (await db.AgentConfigs.Where(a => a.PublisherId == "codebuff").Select(a => a.Id).ToListAsync()).Order());

        // The SDK resolves a bare id through GET /api/v1/agents/codebuff/<id>/latest.
        var basic = await BodyAsync(await server.Client.GetAsync("/api/v1/agents/codebuff/base/latest"));
        Assert.Equal("0.0.1", (string?)basic["version"]);
        Assert.Contains("codebuff/file-picker@0.0.1", basic["data"]!["spawnableAgents"]!.AsArray().Select(s => (string?)s));
    }

    [Fact]
    public async Task Seeding_again_changes_nothing()
    {
        await using var db = server.NewDbContext();
        var before = await db.AgentConfigs.CountAsync();
        var users = await db.Users.CountAsync();
        Assert.Empty(await BuiltinAgents.SeedAsync(db, TimeProvider.System, CancellationToken.None));
        Assert.Equal(before, await db.AgentConfigs.CountAsync());
        Assert.Equal(users, await db.Users.CountAsync());

        // A second server on the same database (a restart) publishes nothing either.
        await using var second = await ServerFixture.StartServerAsync(server.ConnectionString, new() { ["Codebuff:AuthSecret"] = "x", ["Logging:LogLevel:Default"] = "Warning" });
        Assert.Equal(before, await db.AgentConfigs.CountAsync());
    }

    static readonly string[] RequiredStrings = ["id", "displayName", "model", "systemPrompt", "instructionsPrompt", "stepPrompt", "outputMode"];

    [Fact]
    public async Task Sdk_facing_reads_carry_every_field_the_sdk_template_schema_requires()
    {
        var templates = new JsonArray();
        foreach (var id in BuiltinAgents.Ids)
        {
            var v1 = await server.Client.GetAsync($"/api/v1/agents/codebuff/{id}/latest");
            Assert.Equal(HttpStatusCode.OK, v1.StatusCode);
            var body = await BodyAsync(v1);
            Assert.Equal(["id", "version", "publisherId", "data", "createdAt", "updatedAt"], body.Select(p => p.Key));
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string?)body["createdAt"]);
            var data = body["data"]!.AsObject();
            foreach (var key in RequiredStrings) Assert.Equal(JsonValueKind.String, data[key]?.GetValueKind());
            Assert.Matches("^[a-z0-9-]+$", (string?)data["id"]);
            Assert.Contains((string?)data["outputMode"], AgentDefinitionSchema.OutputModes);
            Assert.IsType<JsonArray>(data["toolNames"]);
            Assert.IsType<JsonArray>(data["spawnableAgents"]);
            Assert.IsType<JsonObject>(data["mcpServers"]);
            Assert.True(data["includeMessageHistory"]!.GetValueKind() is JsonValueKind.True or JsonValueKind.False);
            Assert.True(data["inheritParentSystemPrompt"]!.GetValueKind() is JsonValueKind.True or JsonValueKind.False);

            // The /api alias answers identically.
            AssertJson(body.ToJsonString(), await BodyAsync(await server.Client.GetAsync($"/api/agents/codebuff/{id}/{(string?)body["version"]}")));
            var template = data.DeepClone().AsObject();
            template["id"] = id;
            template["version"] = (string?)body["version"];
            templates.Add(template);
        }

        // Where the SDK is installed (shared/acceptance/sdk), run its own validator over the served templates.
        if (FindSdk() is { } sdk)
        {
            var result = JsonNode.Parse(await RunNodeAsync(sdk, templates.ToJsonString()))!;
            AssertJson($$"""{"success":true,"validationErrors":[],"errorCount":0}""", result);
        }
    }

    static string? FindSdk()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            foreach (var shared in new[] { Path.Combine(dir.FullName, "shared"), Path.Combine(dir.FullName, "..", "shared") })
            {
                var path = Path.Combine(shared, "acceptance", "sdk", "node_modules", "@codebuff", "sdk", "dist", "index.mjs");
                if (File.Exists(path)) return Path.GetFullPath(path);
            }
        return null;
    }

    static async Task<string> RunNodeAsync(string sdk, string input)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Agents", "sdk-validate.mjs");
        using var node = Process.Start(new ProcessStartInfo("node", [script, sdk])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        })!;
        await node.StandardInput.WriteAsync(input);
        node.StandardInput.Close();
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node failed: {await error}");
        return (await output).Trim().Split('\n').Last();
    }
}

/// <summary>Its own database: the test republishes built-ins, which the other tests' version numbers must not see.</summary>
public sealed class BuiltinAgentUpdateTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_changed_builtin_gets_the_next_patch_and_its_spawners_follow()
    {
        // Simulate an older published file-picker: seeding must publish a new one and a new version of every agent spawning it.
        await using var db = server.NewDbContext();
        var builtins = await db.AgentConfigs.Where(a => a.PublisherId == "codebuff").ToListAsync();
        var picker = builtins.Single(a => a.Id == "file-picker");
        var data = JsonNode.Parse(picker.Data)!.AsObject();
        data["instructionsPrompt"] = "an older prompt";
        await db.Database.ExecuteSqlInterpolatedAsync($"UPDATE agent_config SET data = {data.ToJsonString()}::jsonb WHERE publisher_id = 'codebuff' AND id = 'file-picker'");

        var published = await BuiltinAgents.SeedAsync(db, TimeProvider.System, CancellationToken.None);
        var spawners = builtins.Where(a => JsonNode.Parse(a.Data)!["spawnableAgents"]!.AsArray().Any(s => ((string?)s)!.StartsWith("codebuff/file-picker@"))).Select(a => a.Id);
        Assert.Equal(spawners.Append("file-picker").Order(), published.Order());
        var latestBase = await BodyAsync(await server.Client.GetAsync("/api/v1/agents/codebuff/base/latest"));
        Assert.Contains("codebuff/file-picker@0.0.2", latestBase["data"]!["spawnableAgents"]!.AsArray().Select(s => (string?)s));
        Assert.Empty(await BuiltinAgents.SeedAsync(db, TimeProvider.System, CancellationToken.None));
    }
}
