using System.Collections.Concurrent;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Codebuff.Server.Tests.Tools;

/// <summary>
/// Fakes of Linkup (POST /v1/search) and Context7 (GET /api/v2/libs/search, /api/v2/context) on one loopback server,
/// answering in their documented shapes, and the server configured with both (no kind set: the defaults).
/// Linkup: q "empty" finds no answer, "boom" fails with Linkup's error object. Context7: libraryName "nolib" finds no
/// library, "boom" fails; the context is a text of 100 characters per line.
/// </summary>
public sealed class NativeSearchFixture : ServerFixture
{
    WebApplication? _provider;
    string _url = "";
    public ConcurrentQueue<(string Method, string PathAndQuery, string? Authorization, JsonObject? Body)> Requests { get; } = new();

    public const string Sources = "\n\nSources:\n- Example: https://example.com/a\n- https://example.com/b";

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Search:Linkup:BaseUrl"] = _url + "/v1";
        s["Codebuff:Search:Linkup:ApiKey"] = "linkup-key";
        s["Codebuff:Search:Context7:BaseUrl"] = _url + "/api";
        s["Codebuff:Search:Context7:ApiKey"] = "ctx7sk-key";
        return s;
    }

    public override async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _provider = builder.Build();
        _provider.MapPost("/v1/search", async (HttpContext c) =>
        {
            var body = (await c.Request.ReadFromJsonAsync<JsonObject>())!;
            Requests.Enqueue(("POST", c.Request.Path + c.Request.QueryString, c.Request.Headers.Authorization, body));
            if (c.Request.Headers.Authorization != "Bearer linkup-key") { c.Response.StatusCode = 401; return; }
            var q = (string)body["q"]!;
            if (q == "boom")
            {
                c.Response.StatusCode = 400;
                await c.Response.WriteAsJsonAsync(new { statusCode = 400, error = new { code = "SEARCH_QUERY_NO_RESULT", message = "The query did not yield any result", details = Array.Empty<object>() } });
                return;
            }
            await c.Response.WriteAsJsonAsync(q == "empty"
                ? new JsonObject { ["answer"] = "", ["sources"] = new JsonArray() }
                : new JsonObject
                {
                    ["answer"] = $"{body["depth"]} answer about {q}",
                    ["sources"] = new JsonArray(
                        new JsonObject { ["name"] = "Example", ["url"] = "https://example.com/a", ["snippet"] = "…" },
                        new JsonObject { ["name"] = "", ["url"] = "https://example.com/b", ["snippet"] = "…" }),
                });
        });
        _provider.MapGet("/api/v2/libs/search", async (HttpContext c) =>
        {
            Requests.Enqueue(("GET", c.Request.Path + c.Request.QueryString, c.Request.Headers.Authorization, null));
            if (c.Request.Headers.Authorization != "Bearer ctx7sk-key") { c.Response.StatusCode = 401; return; }
            var name = c.Request.Query["libraryName"].ToString();
            if (name == "boom") { c.Response.StatusCode = 500; await c.Response.WriteAsJsonAsync(new { error = "internal" }); return; }
            await c.Response.WriteAsJsonAsync(new JsonObject
            {
                ["results"] = name == "nolib" ? new JsonArray() : new JsonArray(
                    new JsonObject { ["id"] = $"/facebook/{name}", ["title"] = name, ["description"] = "A library", ["totalSnippets"] = 1250, ["trustScore"] = 9.5 },
                    new JsonObject { ["id"] = $"/other/{name}", ["title"] = name }),
            });
        });
        _provider.MapGet("/api/v2/context", (HttpContext c) =>
        {
            Requests.Enqueue(("GET", c.Request.Path + c.Request.QueryString, c.Request.Headers.Authorization, null));
            if (c.Request.Headers.Authorization != "Bearer ctx7sk-key") return Results.StatusCode(401);
            var line = $"{c.Request.Query["libraryId"]} / {c.Request.Query["query"]} ({c.Request.Query["type"]})".PadRight(99, '.') + "\n";
            return Results.Text(string.Concat(Enumerable.Repeat(line, 50)), "text/plain");
        });
        await _provider.StartAsync();
        _url = _provider.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_provider is not null) await _provider.DisposeAsync();
    }
}

public sealed class NativeSearchTests(NativeSearchFixture server) : IClassFixture<NativeSearchFixture>
{
    static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task Web_search_asks_linkup_for_a_sourced_answer_and_charges_1_standard_5_deep()
    {
        var user = await server.CreateUserAsync(10);
        var client = server.ClientFor(user);
        var standard = await client.PostAsync("/api/v1/web-search", Json("""{"query":"dotnet"}"""));
        var (method, path, auth, body) = server.Requests.Last();
        Assert.Equal(("POST", "/v1/search", "Bearer linkup-key"), (method, path, auth));
        Assert.Equal("""{"q":"dotnet","depth":"standard","outputType":"sourcedAnswer"}""", body!.ToJsonString());
        Assert.Equal(new JsonObject { ["result"] = "standard answer about dotnet" + NativeSearchFixture.Sources, ["creditsUsed"] = 1 }.ToJsonString(),
            await standard.Content.ReadAsStringAsync());
        var deep = await client.PostAsync("/api/v1/web-search", Json("""{"query":"dotnet","depth":"deep"}"""));
        Assert.Equal("deep", (string?)server.Requests.Last().Body!["depth"]);
        Assert.Equal(5, (int)(await deep.Content.ReadFromJsonAsync<JsonObject>())!["creditsUsed"]!);
        Assert.Equal(4, await server.BalanceAsync(user.Id));
        var rows = await server.MessagesAsync(user.Id);
        Assert.Equal([1, 5], rows.Select(m => m.Credits).Order());
        Assert.All(rows, m => Assert.Equal("web-search", m.Model));
    }

    [Fact]
    public async Task Linkup_finding_nothing_or_failing_charges_nothing()
    {
        var user = await server.CreateUserAsync(10);
        var client = server.ClientFor(user);
        var empty = await client.PostAsync("/api/v1/web-search", Json("""{"query":"empty"}"""));
        Assert.Equal((HttpStatusCode.OK, "No search results found for \"empty\""), (empty.StatusCode, (string?)(await empty.Content.ReadFromJsonAsync<JsonObject>())!["error"]));
        var failed = await client.PostAsync("/api/v1/web-search", Json("""{"query":"boom"}"""));
        Assert.Equal((HttpStatusCode.InternalServerError, """{"error":"Error performing web search"}"""), (failed.StatusCode, await failed.Content.ReadAsStringAsync()));
        Assert.Equal(10, await server.BalanceAsync(user.Id));
        Assert.Empty(await server.MessagesAsync(user.Id));
    }

    [Fact]
    public async Task Docs_search_finds_the_library_at_context7_then_its_documentation_and_charges_1()
    {
        var user = await server.CreateUserAsync(3);
        var client = server.ClientFor(user);
        var docs = await client.PostAsync("/api/v1/docs-search", Json("""{"libraryTitle":"react","topic":"use effect"}"""));
        var calls = server.Requests.TakeLast(2).ToList();
        Assert.Equal(("GET", "/api/v2/libs/search?libraryName=react&query=use%20effect", "Bearer ctx7sk-key"), (calls[0].Method, calls[0].PathAndQuery, calls[0].Authorization));
        Assert.Equal(("GET", "/api/v2/context?libraryId=%2Ffacebook%2Freact&query=use%20effect&type=txt"), (calls[1].Method, calls[1].PathAndQuery));
        var answer = (await docs.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(1, (int)answer["creditsUsed"]!);
        var text = (string)answer["documentation"]!;
        Assert.StartsWith("/facebook/react / use effect (txt)....", text);
        Assert.Equal(50 * 100 - 1, text.Length); // trimmed of its last newline

        // maxTokens cuts the text at about 4 characters a token.
        var capped = await client.PostAsync("/api/v1/docs-search", Json("""{"libraryTitle":"react","maxTokens":100}"""));
        Assert.Equal(400, ((string)(await capped.Content.ReadFromJsonAsync<JsonObject>())!["documentation"]!).Length);
        Assert.EndsWith("query=react&type=txt", server.Requests.Last().PathAndQuery);
        Assert.Equal(1, await server.BalanceAsync(user.Id));
        Assert.All(await server.MessagesAsync(user.Id), m => Assert.Equal(("docs-search", 1), (m.Model, m.Credits)));
    }

    [Fact]
    public async Task Context7_finding_no_library_or_failing_charges_nothing()
    {
        var user = await server.CreateUserAsync(3);
        var client = server.ClientFor(user);
        var none = await client.PostAsync("/api/v1/docs-search", Json("""{"libraryTitle":"nolib","topic":"x"}"""));
        Assert.Equal("No documentation found for \"nolib\" with topic \"x\"", (string?)(await none.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        var failed = await client.PostAsync("/api/v1/docs-search", Json("""{"libraryTitle":"boom"}"""));
        Assert.Equal((HttpStatusCode.InternalServerError, """{"error":"Error fetching documentation"}"""), (failed.StatusCode, await failed.Content.ReadAsStringAsync()));
        Assert.Equal(3, await server.BalanceAsync(user.Id));
        Assert.Empty(await server.MessagesAsync(user.Id));
    }
}
