using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Codebuff.Server.Tests.Agents.AgentTestData;

namespace Codebuff.Server.Tests.Agents;

public sealed class PublisherTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Creates_a_user_publisher()
    {
        var user = await server.CreateUserAsync();
        var id = NewId("me");
        var response = await server.ClientFor(user).PostAsJsonAsync("/api/publishers",
            new { id, name = "  My Agents  ", email = " me@example.com ", bio = "", avatar_url = "https://example.com/a.png" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(id, (string?)body["id"]);
        Assert.Equal("My Agents", (string?)body["name"]);
        Assert.Equal("me@example.com", (string?)body["email"]);
        Assert.Null(body["bio"]);
        Assert.Equal(user.Id, (string?)body["user_id"]);
        Assert.Null(body["org_id"]);
        Assert.Equal(user.Id, (string?)body["created_by"]);
        Assert.False((bool)body["verified"]!);
        Assert.Equal(0, (int)body["agentCount"]!);
        Assert.Equal("user", (string?)body["ownershipType"]);

        await using var db = server.NewDbContext();
        var row = await db.Publishers.SingleAsync(p => p.Id == id);
        Assert.Equal((user.Id, (string?)null, "My Agents"), (row.UserId, row.OrgId, row.Name));

        var taken = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id, name = "Again" });
        Assert.Equal(HttpStatusCode.BadRequest, taken.StatusCode);
        AssertJson("""{"error":"This publisher ID is already taken"}""", await BodyAsync(taken));
    }

    [Theory]
    [InlineData("ab", "Publisher ID must be at least 3 characters long")]
    [InlineData("abcdefghijabcdefghijabcdefghijk", "Publisher ID must be no more than 30 characters long")]
    [InlineData("-abc", "Publisher ID cannot start or end with a hyphen")]
    [InlineData("abc-", "Publisher ID cannot start or end with a hyphen")]
    [InlineData("Abc", "Publisher ID must contain only lowercase letters, numbers, and hyphens")]
    [InlineData("a_b", "Publisher ID must contain only lowercase letters, numbers, and hyphens")]
    [InlineData("codebuff", "This publisher ID is already taken")]
    [InlineData("abc", null)]
    [InlineData("a-1-b", null)]
    public async Task Id_rules(string id, string? error)
    {
        var check = await BodyAsync(await server.Client.GetAsync($"/api/publishers/validate?id={id}"));
        AssertJson(JsonSerializer.Serialize(new { valid = error is null, error }), check);

        var user = await server.CreateUserAsync();
        var create = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = id == "abc" || id == "a-1-b" ? NewId(id) : id, name = "Name" });
        Assert.Equal(error is null ? HttpStatusCode.Created : HttpStatusCode.BadRequest, create.StatusCode);
        if (error is not null) AssertJson(JsonSerializer.Serialize(new { error }), await BodyAsync(create));
    }

    [Theory]
    [InlineData(" a ", "Publisher name must be at least 2 characters long")]
    [InlineData("   ", "Publisher name is required")]
    [InlineData(null, "Publisher name is required")]
    [InlineData("ab", null)]
    public async Task Name_rules(string? name, string? error)
    {
        var user = await server.CreateUserAsync();
        var response = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = NewId("nm"), name });
        Assert.Equal(error is null ? HttpStatusCode.Created : HttpStatusCode.BadRequest, response.StatusCode);
        if (error is not null) AssertJson(JsonSerializer.Serialize(new { error }), await BodyAsync(response));
        var tooLong = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = NewId("nm"), name = new string('x', 51) });
        AssertJson("""{"error":"Publisher name must be no more than 50 characters long"}""", await BodyAsync(tooLong));
    }

    [Fact]
    public async Task Bad_bodies_and_anonymous_callers()
    {
        var user = await server.CreateUserAsync();
        var notJson = await server.ClientFor(user).PostAsync("/api/publishers", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        AssertJson("""{"error":"Request body must be a JSON object"}""", await BodyAsync(notJson));
        var wrongType = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = 5, name = "x" });
        AssertJson("""{"error":"id must be a string"}""", await BodyAsync(wrongType));
        var badEmail = await server.ClientFor(user).PostAsJsonAsync("/api/publishers", new { id = NewId("em"), name = "Name", email = "nope" });
        AssertJson("""{"error":"Invalid email address"}""", await BodyAsync(badEmail));

        foreach (var response in new[]
                 {
                     await server.Client.GetAsync("/api/publishers"),
                     await server.Client.PostAsJsonAsync("/api/publishers", new { id = NewId("an"), name = "Name" }),
                     await server.Client.PatchAsJsonAsync("/api/publishers/codebuff", new { name = "Mine now" }),
                 })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            AssertJson("""{"error":"Unauthorized"}""", await BodyAsync(response));
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.GetAsync("/api/publishers/validate")).StatusCode);

        // The legacy body authToken works where the header is missing.
        var legacy = await server.Client.PostAsJsonAsync("/api/publishers", new { id = NewId("lg"), name = "Legacy", authToken = user.ApiKey });
        Assert.Equal(HttpStatusCode.Created, legacy.StatusCode);
        Assert.Equal(user.Id, (string?)(await BodyAsync(legacy))["user_id"]);
    }

    [Fact]
    public async Task Org_publishers_belong_to_the_org_and_its_admins()
    {
        var owner = await server.CreateUserAsync();
        var admin = await server.CreateUserAsync();
        var member = await server.CreateUserAsync();
        var outsider = await server.CreateUserAsync();
        var org = await CreateOrgAsync(server, owner);
        await AddMemberAsync(server, org, admin, OrgRole.Admin);
        await AddMemberAsync(server, org, member, OrgRole.Member);

        var byMember = await server.ClientFor(member).PostAsJsonAsync("/api/publishers", new { id = NewId("org"), name = "Org Pub", org_id = org });
        Assert.Equal(HttpStatusCode.Forbidden, byMember.StatusCode);
        AssertJson("""{"error":"Insufficient permissions"}""", await BodyAsync(byMember));
        var byOutsider = await server.ClientFor(outsider).PostAsJsonAsync("/api/publishers", new { id = NewId("org"), name = "Org Pub", org_id = org });
        Assert.Equal(HttpStatusCode.NotFound, byOutsider.StatusCode);
        AssertJson("""{"error":"Organization not found"}""", await BodyAsync(byOutsider));

        var id = NewId("org");
        var created = await server.ClientFor(admin).PostAsJsonAsync("/api/publishers", new { id, name = "Org Pub", org_id = org });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await BodyAsync(created);
        Assert.Equal(("organization", (string?)null, org, admin.Id), ((string?)body["ownershipType"], (string?)body["user_id"], (string?)body["org_id"], (string?)body["created_by"]));
        Assert.StartsWith("Org ", (string?)body["organizationName"]);
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(server.ClientFor(owner), Def("a", id), Def("b", id))).StatusCode);

        var ownersList = (await server.ClientFor(owner).GetFromJsonAsync<JsonArray>("/api/publishers"))!;
        var listed = ownersList.Single(p => (string?)p!["id"] == id)!;
        Assert.Equal(2, (int)listed["agentCount"]!);
        Assert.Equal("organization", (string?)listed["ownershipType"]);
        Assert.Empty((await server.ClientFor(member).GetFromJsonAsync<JsonArray>("/api/publishers"))!);

        // Update: owners and admins may; a member is told 403, an outsider sees nothing (404).
        var patched = await server.ClientFor(admin).PatchAsJsonAsync($"/api/publishers/{id}", new { name = " Renamed ", bio = "About us", email = (string?)null });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(("Renamed", "About us"), ((string?)(await BodyAsync(patched))["name"], (string?)(await BodyAsync(await server.Client.GetAsync($"/api/publishers/{id}")))["bio"]));
        Assert.Equal(HttpStatusCode.Forbidden, (await server.ClientFor(member).PatchAsJsonAsync($"/api/publishers/{id}", new { name = "Mine" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.ClientFor(outsider).PatchAsJsonAsync($"/api/publishers/{id}", new { name = "Mine" })).StatusCode);
        var badName = await server.ClientFor(owner).PatchAsJsonAsync($"/api/publishers/{id}", new { name = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);

        await using var db = server.NewDbContext();
        var row = await db.Publishers.SingleAsync(p => p.Id == id);
        Assert.Equal(("Renamed", "About us", (string?)null, org), (row.Name, row.Bio, row.UserId, row.OrgId!));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task The_database_refuses_a_publisher_with_both_owners_or_none(bool withUser, bool withOrg)
    {
        var user = await server.CreateUserAsync();
        var org = await CreateOrgAsync(server, user);
        await using var db = server.NewDbContext();
        var id = NewId("bad");
        db.Publishers.Add(new Publisher
        {
            Id = id, Name = "Bad", UserId = withUser ? user.Id : null, OrgId = withOrg ? org : null, CreatedBy = user.Id,
            CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
        });
        var e = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.Equal("publisher_single_owner", (e.InnerException as Npgsql.PostgresException)?.ConstraintName);
        await using var check = server.NewDbContext();
        Assert.False(await check.Publishers.AnyAsync(p => p.Id == id));
    }

    [Fact]
    public async Task A_user_publisher_is_updated_only_by_its_owner()
    {
        var owner = await server.CreateUserAsync();
        var other = await server.CreateUserAsync();
        var pub = await CreatePublisherAsync(server, owner);
        Assert.Equal(HttpStatusCode.NotFound, (await server.ClientFor(other).PatchAsJsonAsync($"/api/publishers/{pub}", new { name = "Stolen" })).StatusCode);
        var ok = await server.ClientFor(owner).PatchAsJsonAsync($"/api/publishers/{pub}", new { avatar_url = "/avatars/x.png" });
        var body = await BodyAsync(ok);
        Assert.Equal(("/avatars/x.png", "Test Publisher"), ((string?)body["avatar_url"], (string?)body["name"]));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/api/publishers/no-such-pub")).StatusCode);
    }
}
