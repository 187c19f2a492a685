using Codebuff.Cli.Tests.Infrastructure;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Agents;

/// <summary><c>codebuff publish</c> from .agents/ (JSON and YAML) and <c>codebuff save-agent</c>, against the real server.</summary>
public sealed class PublishTests(CliFixture server) : IClassFixture<CliFixture>
{
    async Task<(TestUser User, string Publisher)> PublisherAsync()
    {
        var user = await server.CreateUserAsync();
        var id = "pub-" + Guid.NewGuid().ToString("N")[..8];
        var created = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id, name = "Test Publisher" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        return (user, id);
    }

    [Fact]
    public async Task Publish_reads_json_and_yaml_definitions_and_prints_name_publisher_id_version()
    {
        var (user, publisher) = await PublisherAsync();
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        cli.Write(".agents/reviewer.json", $$"""
            { "id": "code-checker", "publisher": "{{publisher}}", "displayName": "Code Checker", "model": "openai/gpt-4o-mini",
              "toolNames": ["read_files", "spawn_agents", "end_turn"], "spawnableAgents": ["note-taker"], "systemPrompt": "Check code." }
            """);
        cli.Write(".agents/sub/note-taker.yaml", $"""
            id: note-taker
            publisher: {publisher}
            displayName: Note Taker
            model: openai/gpt-4o-mini
            toolNames: [end_turn]
            includeMessageHistory: true
            """);

        var result = await cli.RunAsync(["publish"]);
        Assert.True(result.ExitCode == 0, result.Console + result.Error);
        Assert.Contains($"Published Code Checker ({publisher}/code-checker@0.0.1)", result.Console);
        Assert.Contains($"Published Note Taker ({publisher}/note-taker@0.0.1)", result.Console);

        await using (var db = server.NewDbContext())
        {
            var stored = await db.AgentConfigs.SingleAsync(a => a.PublisherId == publisher && a.Id == "code-checker");
            Assert.Contains($"{publisher}/note-taker@0.0.1", stored.Data);
            var note = await db.AgentConfigs.SingleAsync(a => a.PublisherId == publisher && a.Id == "note-taker");
            Assert.Equal(true, (bool?)JsonNode.Parse(note.Data)!["includeMessageHistory"]);
        }

        // One agent by display name; the version moves on.
        var again = await cli.RunAsync(["publish", "Note Taker"]);
        Assert.Contains($"Published Note Taker ({publisher}/note-taker@0.0.2)", again.Console);

        // save-agent copies a published definition into another project's .agents/.
        using var other = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        var saved = await other.RunAsync(["save-agent", $"{publisher}/code-checker"]);
        Assert.True(saved.ExitCode == 0, saved.Error);
        Assert.Contains($"Saved {publisher}/code-checker@0.0.1 to .agents/code-checker.json", saved.Console);
        var copy = JsonNode.Parse(other.File(".agents/code-checker.json"))!;
        Assert.Equal(("Code Checker", "0.0.1", publisher), ((string?)copy["displayName"], (string?)copy["version"], (string?)copy["publisher"]));
        var twice = await other.RunAsync(["save-agent", $"{publisher}/code-checker"]);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("already exists", twice.Error);
    }

    [Fact]
    public async Task Invalid_definitions_and_foreign_publishers_are_refused_with_the_servers_reasons()
    {
        var (user, _) = await PublisherAsync();
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), user.ApiKey);
        cli.Write(".agents/bad.json", """{ "id": "Bad_Id", "publisher": "x", "displayName": "Bad", "model": "m" }""");
        var invalid = await cli.RunAsync(["publish"]);
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("nothing was published", invalid.Console);
        Assert.Contains("Bad_Id", invalid.Console);

        cli.Write(".agents/bad.json", """{ "id": "good-id", "publisher": "someone-elses", "displayName": "Good", "model": "m" }""");
        var foreign = await cli.RunAsync(["publish", "good-id"]);
        Assert.Equal(1, foreign.ExitCode);
        Assert.Contains("Publishing failed: Publisher not found or not accessible", foreign.Console);

        var unknown = await cli.RunAsync(["publish", "nope"]);
        Assert.Equal((1, "No agent \"nope\" in .agents/ (by id or display name). There are: good-id."), (unknown.ExitCode, unknown.Error.Trim()));
    }
}
