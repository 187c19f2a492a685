using Codebuff.Server.Agents;
using Codebuff.Server.Tests.Infrastructure;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

public sealed class PublishVersioningTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("", null, "0.0.1", null)]
    [InlineData("", "", "0.0.1", null)]
    [InlineData("0.0.1", null, "0.0.2", null)]
    [InlineData("1.2.3", null, "1.2.4", null)]
    [InlineData("0.0.9", null, "0.0.10", null)]
    [InlineData("", "1.0.0", "1.0.0", null)]
    [InlineData("1.0.0", "1.0.1", "1.0.1", null)]
    [InlineData("1.0.0", "1.1.0", "1.1.0", null)]
    [InlineData("1.9.9", "2.0.0", "2.0.0", null)]
    [InlineData("0.0.9", "0.0.10", "0.0.10", null)]
    [InlineData("", "01.2.3", "1.2.3", null)]
    [InlineData("1.0.0", "1.0.0", null, "Provided version 1.0.0 must be greater than the latest version (1.0.0)")]
    [InlineData("1.2.0", "1.1.9", null, "Provided version 1.1.9 must be greater than the latest version (1.2.0)")]
    [InlineData("0.0.10", "0.0.9", null, "Provided version 0.0.9 must be greater than the latest version (0.0.10)")]
    [InlineData("", "0.0.0", null, "Provided version 0.0.0 must be greater than the latest version (0.0.0)")]
    [InlineData("", "1.0", null, "Invalid version format: 1.0. Must be in semver format (e.g., 1.0.0)")]
    [InlineData("", "1.0.0-beta", null, "Invalid version format: 1.0.0-beta. Must be in semver format (e.g., 1.0.0)")]
    [InlineData("", "v1.0.0", null, "Invalid version format: v1.0.0. Must be in semver format (e.g., 1.0.0)")]
    [InlineData("", "1.0.0 ", null, "Invalid version format: 1.0.0 . Must be in semver format (e.g., 1.0.0)")]
    [InlineData("", "99999999999.0.0", null, "Invalid version format: 99999999999.0.0. Must be in semver format (e.g., 1.0.0)")]
    public async Task Versioning_rules(string existing, string? provided, string? expected, string? error)
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        foreach (var v in existing.Split(',', StringSplitOptions.RemoveEmptyEntries))
            Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def("agent", pub, new { version = v }))).StatusCode);
        var before = await VersionsAsync(server, pub, "agent");

        var response = await PublishAsync(client, Def("agent", pub, provided is null ? null : new { version = provided }));
        var body = await BodyAsync(response);
        if (error is null)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            AssertJson($$"""{"success":true,"publisherId":"{{pub}}","agents":[{"id":"agent","version":"{{expected}}","displayName":"Agent agent"}]}""", body);
            Assert.Equal([.. before, expected!], await VersionsAsync(server, pub, "agent"));
            var stored = await (await server.Client.GetAsync($"/api/agents/{pub}/agent/{expected}")).Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal(expected, (string?)stored!["data"]!["version"]);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("Version determination failed", (string?)body["error"]);
            Assert.Equal($"Failed for agent 'agent': {error}", (string?)body["details"]);
            Assert.Equal(before, await VersionsAsync(server, pub, "agent"));
        }
    }

    [Fact]
    public void Versions_order_by_number_not_text()
    {
        Assert.True(AgentVersion.TryParse("0.0.10", out var ten));
        Assert.True(AgentVersion.TryParse("0.0.9", out var nine));
        Assert.True(ten.CompareTo(nine) > 0);
        Assert.True(new AgentVersion(1, 0, 0).CompareTo(new AgentVersion(0, 99, 99)) > 0);
        Assert.False(AgentVersion.TryParse("١.٢.٣", out _)); // non-ASCII digits are not \d in JavaScript
        Assert.Equal((new AgentVersion(0, 0, 1), (string?)null), AgentVersion.Next(null, null));
    }

    [Fact]
    public async Task Latest_follows_the_generated_columns_past_0_0_9()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var pub = await CreatePublisherAsync(server, user);
        for (var i = 1; i <= 10; i++)
            Assert.Equal(HttpStatusCode.Created, (await PublishAsync(client, Def("counter", pub, new { displayName = $"v{i}" }))).StatusCode);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"0.0.{i}"), await VersionsAsync(server, pub, "counter"));

        var latest = await BodyAsync(await server.Client.GetAsync($"/api/v1/agents/{pub}/counter/latest"));
        Assert.Equal("0.0.10", (string?)latest["version"]);
        Assert.Equal("v10", (string?)latest["data"]!["displayName"]);

        var next = await BodyAsync(await PublishAsync(client, Def("counter", pub)));
        Assert.Equal("0.0.11", (string?)next["agents"]![0]!["version"]);

        var versions = await BodyAsync(await server.Client.GetAsync($"/api/agents/{pub}/counter"));
        Assert.Equal(Enumerable.Range(1, 11).Reverse().Select(i => $"0.0.{i}"), versions["versions"]!.AsArray().Select(v => (string?)v!["version"]));
        Assert.True((bool)versions["versions"]![0]!["isLatest"]!);
    }
}
