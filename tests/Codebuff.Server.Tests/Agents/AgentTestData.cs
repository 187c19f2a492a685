using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Agents;

/// <summary>Publishers, orgs and agent definitions for the agent registry tests.</summary>
static class AgentTestData
{
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(30, prefix.Length + 13)];

    /// <summary>A minimal valid definition; extra properties are merged in (null removes one).</summary>
    public static JsonObject Def(string id, string? publisher, object? extra = null)
    {
        var def = new JsonObject { ["id"] = id, ["displayName"] = $"Agent {id}", ["model"] = "openai/gpt-4o-mini" };
        if (publisher is not null) def["publisher"] = publisher;
        if (extra is not null)
            foreach (var (key, value) in JsonSerializer.SerializeToNode(extra)!.AsObject())
            {
                if (value is null) def.Remove(key);
                else def[key] = value.DeepClone();
            }
        return def;
    }

    public static Task<HttpResponseMessage> PublishAsync(HttpClient client, params JsonObject[] defs) =>
        client.PostAsJsonAsync("/api/agents/publish", new JsonObject { ["data"] = new JsonArray(defs.Select(d => (JsonNode?)d.DeepClone()).ToArray()) });

    public static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!;

    /// <summary>Compares JSON by value (property order and string escaping aside).</summary>
    public static void AssertJson(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}\nactual   {actual?.ToJsonString()}");

    /// <summary>A publisher owned by the user, created through the API.</summary>
    public static async Task<string> CreatePublisherAsync(ServerFixture server, TestUser user, string? orgId = null)
    {
        var id = NewId("pub");
        var response = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id, name = "Test Publisher", org_id = orgId });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    /// <summary>An org owned by <paramref name="owner"/> (as its owner member), written straight to the database.</summary>
    public static async Task<string> CreateOrgAsync(ServerFixture server, TestUser owner)
    {
        await using var db = server.NewDbContext();
        var id = Guid.NewGuid().ToString();
        db.Orgs.Add(new Org { Id = id, Name = "Org " + id[..8], Slug = "org-" + id[..8], OwnerId = owner.Id, AutoTopupThreshold = 500, AutoTopupAmount = 2000 });
        db.OrgMembers.Add(new OrgMember { OrgId = id, UserId = owner.Id, Role = OrgRole.Owner });
        await db.SaveChangesAsync();
        return id;
    }

    public static async Task AddMemberAsync(ServerFixture server, string orgId, TestUser user, OrgRole role)
    {
        await using var db = server.NewDbContext();
        db.OrgMembers.Add(new OrgMember { OrgId = orgId, UserId = user.Id, Role = role });
        await db.SaveChangesAsync();
    }

    public static async Task<List<string>> VersionsAsync(ServerFixture server, string publisherId, string agentId)
    {
        await using var db = server.NewDbContext();
        return await db.AgentConfigs.Where(a => a.PublisherId == publisherId && a.Id == agentId)
            .OrderBy(a => a.Major).ThenBy(a => a.Minor).ThenBy(a => a.Patch).Select(a => a.Version).ToListAsync();
    }
}
