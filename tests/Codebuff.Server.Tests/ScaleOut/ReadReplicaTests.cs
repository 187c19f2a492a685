using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.ScaleOut;

/// <summary>ConnectionStrings:ReadOnly serves the store's read-only queries; exact agent fetches stay on the primary.</summary>
public sealed class ReadReplicaTests
{
    [Fact]
    public async Task Store_reads_use_the_replica_and_agent_fetches_the_primary()
    {
        // The "replica" is a second database without the built-in agents the primary gets seeded at start.
        var primary = await TestCluster.CreateDatabaseAsync();
        var replica = await TestCluster.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["Codebuff:AuthSecret"] = "test-auth-secret", ["Logging:LogLevel:Default"] = "Warning" };
        await using var plain = await ServerFixture.StartServerAsync(primary, settings);
        await using var withReplica = await ServerFixture.StartServerAsync(primary, new(settings) { ["ConnectionStrings:ReadOnly"] = replica });
        using var onPrimary = new HttpClient { BaseAddress = new Uri(plain.Urls.First()) };
        using var viaReplica = new HttpClient { BaseAddress = new Uri(withReplica.Urls.First()) };

        Assert.Contains("\"editor\"", await onPrimary.GetStringAsync("/api/publishers/codebuff/agents"));
        var fromReplica = await viaReplica.GetAsync("/api/publishers/codebuff/agents");
        // The replica has no publisher "codebuff" yet: the same route answers from it.
        Assert.Equal((HttpStatusCode.NotFound, """{"error":"Publisher not found"}"""), (fromReplica.StatusCode, await fromReplica.Content.ReadAsStringAsync()));
        var exact = await viaReplica.GetAsync("/api/v1/agents/codebuff/editor/latest");
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        Assert.Equal("editor", (string?)(await exact.Content.ReadFromJsonAsync<JsonObject>())!["id"]);
    }
}
