using Codebuff.Server.Tests.Orgs;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Web;

/// <summary>POST /api/git-evals (site admins only) and the public /evals page listing the results.</summary>
public sealed class EvalPagesTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    [Fact]
    public async Task An_admin_records_results_and_evals_lists_the_public_ones_newest_first()
    {
        var admin = server.ClientFor(await server.SiteAdminAsync());
        var suite = "suite-" + Guid.NewGuid().ToString("N")[..8];
        var response = await admin.PostAsJsonAsync("/api/git-evals", new JsonObject
        {
            ["cost_mode"] = "normal", ["reasoner_model"] = "openai/o3", ["agent_model"] = "anthropic/claude-sonnet-4", ["cost"] = 1234, ["is_public"] = true,
            ["metadata"] = new JsonObject { ["suite"] = suite, ["numCases"] = 40, ["avgScore"] = 7.25, ["avgTurns"] = 3.5, ["note"] = "extra keys are kept" },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = (string)body["id"]!;
        Assert.True(Guid.TryParse(id, out _));
        body.Remove("id");
        var createdAt = (string)body["created_at"]!;
        body.Remove("created_at");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""
            {"cost_mode":"normal","reasoner_model":"openai/o3","agent_model":"anthropic/claude-sonnet-4",
             "metadata":{"suite":"{{suite}}","numCases":40,"avgScore":7.25,"avgTurns":3.5,"note":"extra keys are kept"},"cost":1234,"is_public":true}
            """), body), body.ToJsonString());
        Assert.Equal(server.Clock.Now.UtcDateTime, DateTime.Parse(createdAt, null, System.Globalization.DateTimeStyles.RoundtripKind).ToUniversalTime(), TimeSpan.FromMilliseconds(1));

        // A later private result: only admins see it.
        server.Clock.Advance(TimeSpan.FromMinutes(5));
        var hidden = (await (await admin.PostAsJsonAsync("/api/git-evals", new { agent_model = "private/model", metadata = new { suite } }))
            .Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal((false, 0), ((bool)hidden["is_public"]!, (int)hidden["cost"]!));
        await using (var db = server.NewDbContext())
        {
            var row = await db.GitEvalResults.AsNoTracking().SingleAsync(r => r.Id == id);
            Assert.Equal(("normal", "openai/o3", "anthropic/claude-sonnet-4", 1234, true), (row.CostMode, row.ReasonerModel, row.AgentModel, row.Cost, row.IsPublic));
            Assert.Equal(40, (int)JsonNode.Parse(row.Metadata!)!["numCases"]!);
        }

        await using (var tab = await DashboardTab.OpenAsync(server))
        {
            await tab.GotoAsync("/evals");
            Assert.Equal("Evaluations", await tab.HeadingAsync());
            var row = tab.Page.Locator($"tr[data-eval='{id}']");
            Assert.Equal((suite, "anthropic/claude-sonnet-4", "openai/o3", "40", "7.25", "1,234"), (await row.Locator(".suite").InnerTextAsync(),
                await row.Locator(".agent-model").InnerTextAsync(), await row.Locator(".reasoner-model").InnerTextAsync(), await row.Locator(".cases").InnerTextAsync(),
                await row.Locator(".avg-score").InnerTextAsync(), await row.Locator(".cost").InnerTextAsync()));
            await row.Locator("summary").ClickAsync();
            Assert.Contains("extra keys are kept", await row.Locator("dl.metadata").InnerTextAsync());
            Assert.Equal(0, await tab.Page.Locator($"tr[data-eval='{(string)hidden["id"]!}']").CountAsync());
        }

        await using (var tab = await DashboardTab.OpenAsync(server, await server.SiteAdminAsync()))
        {
            await tab.GotoAsync("/evals");
            var ids = await tab.Page.Locator("#evals tbody tr").EvaluateAllAsync<string[]>("r => r.map(x => x.dataset.eval)");
            Assert.True(Array.IndexOf(ids, (string)hidden["id"]!) < Array.IndexOf(ids, id), "newest first");
            Assert.Contains("private", await tab.Page.InnerTextAsync($"tr[data-eval='{(string)hidden["id"]!}']"));
        }
    }

    [Fact]
    public async Task Non_admins_are_refused_and_nothing_is_written()
    {
        var user = await server.CreateUserAsync();
        await using var db = server.NewDbContext();
        var before = await db.GitEvalResults.CountAsync();
        var refused = await server.ClientFor(user).PostAsJsonAsync("/api/git-evals", new { agent_model = "x", is_public = true });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("""{"error":"Forbidden - not an admin"}""", await refused.Content.ReadAsStringAsync());
        var anonymous = await server.Client.PostAsJsonAsync("/api/git-evals", new { agent_model = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("""{"error":"Unauthorized"}""", await anonymous.Content.ReadAsStringAsync());
        Assert.Equal(before, await db.GitEvalResults.CountAsync());
    }

    [Fact]
    public async Task A_bad_body_is_refused_field_by_field_and_nothing_is_written()
    {
        var admin = server.ClientFor(await server.SiteAdminAsync());
        await using var db = server.NewDbContext();
        var before = await db.GitEvalResults.CountAsync();

        var bad = await admin.PostAsync("/api/git-evals", new StringContent("""
            {"id":"mine","created_at":"2020-01-01","agent_model":5,"cost":1.5,"is_public":"yes","metadata":{"numCases":"ten","suite":3,"avgScore":8}}
            """, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("""
            {"error":"Invalid request body","details":{"_errors":["Unrecognized key(s) in object: 'id', 'created_at'"],"agent_model":{"_errors":["Expected string, received number"]},"cost":{"_errors":["Expected integer, received float"]},"is_public":{"_errors":["Expected boolean, received string"]},"metadata":{"_errors":[],"numCases":{"_errors":["Expected number, received string"]},"suite":{"_errors":["Expected string, received number"]}}}}
            """.Trim(), await bad.Content.ReadAsStringAsync());

        var notObject = await admin.PostAsJsonAsync("/api/git-evals", new { metadata = new[] { 1 }, cost = -1 });
        Assert.Equal("""
            {"error":"Invalid request body","details":{"_errors":[],"cost":{"_errors":["Number must be greater than or equal to 0"]},"metadata":{"_errors":["Expected object, received array"]}}}
            """.Trim(), await notObject.Content.ReadAsStringAsync());

        var notJson = await admin.PostAsync("/api/git-evals", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal("""{"error":"Invalid JSON in request body"}""", await notJson.Content.ReadAsStringAsync());
        Assert.Equal(before, await db.GitEvalResults.CountAsync());
    }
}
