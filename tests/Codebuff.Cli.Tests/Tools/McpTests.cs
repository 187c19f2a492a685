using System.ComponentModel;
using Codebuff.Cli.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Server;

namespace Codebuff.Cli.Tests.Tools;

/// <summary>
/// MCP servers through the real CLI: the tests' own stdio server (stdio-mcp-server.mjs, run in the command sandbox) and
/// an HTTP server of the C# MCP SDK in this process (Streamable HTTP and legacy SSE, behind a bearer header). Servers
/// start for the agent that uses them, offer the selected tools as server__tool, and are gone when the run ends.
/// </summary>
public sealed class McpTests(CliFixture server) : IClassFixture<CliFixture>
{
    [McpServerToolType]
    public sealed class RemoteTools
    {
        [McpServerTool(Name = "add"), Description("Adds two numbers")]
        public static string Add(int a, int b) => $"sum={a + b}";

        [McpServerTool(Name = "shout"), Description("Upper-cases a text")]
        public static string Shout(string text) => text.ToUpperInvariant();
    }

    static async Task<WebApplication> StartHttpServerAsync(string token, List<string>? seen = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
#pragma warning disable MCP9004 // legacy SSE is what "type": "sse" servers speak
        builder.Services.AddMcpServer().WithHttpTransport(o => { o.Stateless = false; o.EnableLegacySse = true; }).WithTools<RemoteTools>();
#pragma warning restore MCP9004
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (seen is not null) lock (seen) seen.Add(context.Request.Headers.Authorization.ToString());
            if (context.Request.Headers.Authorization != $"Bearer {token}") { context.Response.StatusCode = 401; return; }
            await next();
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        return app;
    }

    static string BaseUrl(WebApplication app) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    static string ServerScript => Path.Combine(AppContext.BaseDirectory, "Tools", "Mcp", "stdio-mcp-server.mjs");

    /// <summary>Processes whose command line holds <paramref name="marker"/> (a sandboxed server lives in its own pid namespace, but /proc shows it).</summary>
    static IReadOnlyList<string> ProcessesWith(string marker) => Directory.EnumerateDirectories("/proc")
        .Where(d => int.TryParse(Path.GetFileName(d), out _))
        .Select(d => { try { return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' '); } catch (IOException) { return ""; } catch (UnauthorizedAccessException) { return ""; } })
        .Where(c => c.Contains(marker, StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task Stdio_and_http_servers_offer_their_selected_tools_run_sandboxed_and_stop_with_the_run()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var token = Guid.NewGuid().ToString("N");
        await using var http = await StartHttpServerAsync(token);
        var marker = $"mcp-marker-{Guid.NewGuid():N}";
        var outside = Directory.CreateDirectory($"/var/tmp/cb-mcp-outside-{Guid.NewGuid():N}").FullName;
        cli.Env["CB_TEST_TOKEN"] = "token-from-env-42";
        cli.Env["MCP_HTTP_TOKEN"] = token;
        cli.Write(".agents/mcp.json", new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["remote"] = new JsonObject { ["type"] = "http", ["url"] = BaseUrl(http) + "/mcp", ["headers"] = new JsonObject { ["Authorization"] = "Bearer ${MCP_HTTP_TOKEN}" } },
                ["legacy"] = new JsonObject { ["type"] = "sse", ["url"] = BaseUrl(http) + "/mcp/sse", ["headers"] = new JsonObject { ["Authorization"] = "Bearer ${MCP_HTTP_TOKEN}" } },
                ["denied"] = new JsonObject { ["url"] = BaseUrl(http) + "/mcp", ["headers"] = new JsonObject { ["Authorization"] = "Bearer wrong" } },
                ["broken"] = new JsonObject { ["command"] = "node", ["args"] = new JsonArray(ServerScript), ["env"] = new JsonObject { ["X"] = "$CB_NOT_SET_ANYWHERE" } },
                ["unused"] = new JsonObject { ["command"] = "node", ["args"] = new JsonArray(ServerScript, marker + "-unused") },
            },
        }.ToJsonString());
        cli.Write(".agents/mcp-user.json", new JsonObject
        {
            ["id"] = "mcp-user", ["displayName"] = "MCP User", ["model"] = "test/fake-model",
            ["toolNames"] = new JsonArray("local/echo", "local/write", "local/env", "remote", "legacy/shout", "denied", "broken", "end_turn"),
            ["mcpServers"] = new JsonObject
            {
                ["local"] = new JsonObject { ["command"] = "node", ["args"] = new JsonArray(ServerScript, marker), ["env"] = new JsonObject { ["GREETING"] = "$CB_TEST_TOKEN" } },
            },
        }.ToJsonString());
        var nonce = Guid.NewGuid().ToString("N");
        string Call(string tool, string json) => $"[[tool:{tool} {json}]]";
        var prompt = string.Join(' ', $"Task {nonce}",
            Call("local__echo", """{"text":"hi"}"""),
            Call("local__write", $$"""{"path":"{{cli.Project}}/made-by-mcp.txt","text":"inside"}"""),
            Call("local__write", $$"""{"path":"{{outside}}/escaped.txt","text":"outside"}"""),
            Call("local__env", """{"name":"GREETING"}"""),
            Call("local__env", """{"name":"CB_TEST_TOKEN"}"""),
            Call("remote__add", """{"a":2,"b":3}"""),
            Call("legacy__shout", """{"text":"quiet"}"""),
            "[[reply:done]]");

        try
        {
            var result = await cli.RunAsync(["-p", "--json", "--yes", "--agent", "mcp-user", prompt]);

            Assert.True(result.ExitCode == 0, result.Error + result.Out);
            var events = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            var servers = events.Where(e => (string?)e["type"] == "mcp_server").ToDictionary(e => (string)e["server"]!);
            Assert.Equal(["broken", "denied", "legacy", "local", "remote"], servers.Keys.Order());
            foreach (var up in new[] { "local", "remote", "legacy" }) Assert.True(servers[up]["error"] is null, (string?)servers[up]["error"]);
            Assert.Equal(["local__echo", "local__write", "local__env"], servers["local"]["tools"]!.AsArray().Select(t => (string?)t));
            Assert.Equal(["remote__add", "remote__shout"], servers["remote"]["tools"]!.AsArray().Select(t => (string?)t).Order());
            Assert.Equal(["legacy__shout"], servers["legacy"]["tools"]!.AsArray().Select(t => (string?)t));
            Assert.Equal("The MCP server \"broken\" needs the environment variable CB_NOT_SET_ANYWHERE (env.X), which is not set.", (string?)servers["broken"]["error"]);
            Assert.StartsWith("The MCP server \"denied\" (http ", (string?)servers["denied"]["error"]);
            Assert.Null(servers["local"]["error"]);

            var offered = server.Llm.Requests().First(r => r.ToJsonString().Contains(nonce))["tools"]!.AsArray()
                .Select(t => (string)t!["function"]!["name"]!).Order().ToArray();
            Assert.Equal(["end_turn", "legacy__shout", "local__echo", "local__env", "local__write", "remote__add", "remote__shout"], offered);

            var results = ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!).ToList();
            Assert.Equal($"echo: hi (cwd {cli.Project})", (string?)results[0]["content"]);
            Assert.Equal($"wrote {cli.Project}/made-by-mcp.txt", (string?)results[1]["content"]);
            Assert.Equal("inside", cli.File("made-by-mcp.txt"));
            // The sandbox of terminal commands: nothing outside the project is written.
            Assert.Contains("EROFS", (string?)results[2]["errorMessage"]);
            Assert.False(File.Exists(Path.Combine(outside, "escaped.txt")));
            // A configured "$VAR" reaches the server; the secret-looking variable itself does not, as for commands.
            Assert.Equal("GREETING=token-from-env-42", (string?)results[3]["content"]);
            Assert.Equal("CB_TEST_TOKEN=(unset)", (string?)results[4]["content"]);
            Assert.Equal("sum=5", (string?)results[5]["content"]);
            Assert.Equal("QUIET", (string?)results[6]["content"]);

            // Started for this run only, stopped when it ended; a server no agent of the run uses never started.
            Assert.Empty(ProcessesWith(marker));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task An_unsandboxed_stdio_server_is_asked_about_and_not_started_when_nobody_can_answer()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var marker = $"mcp-marker-{Guid.NewGuid():N}";
        cli.Write(".agents/mcp.json", new JsonObject
        {
            ["mcpServers"] = new JsonObject { ["local"] = new JsonObject { ["command"] = "node", ["args"] = new JsonArray(ServerScript, marker) } },
        }.ToJsonString());
        cli.Write(".agents/mcp-user.json", """{ "id": "mcp-user", "displayName": "MCP User", "model": "test/fake-model", "toolNames": ["local", "end_turn"] }""");

        var refused = await cli.RunAsync(["-p", "--json", "--sandbox", "off", "--agent", "mcp-user", "[[reply:ok]]"]);

        Assert.True(refused.ExitCode == 0, refused.Error);
        var started = refused.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Single(e => (string?)e["type"] == "mcp_server");
        Assert.StartsWith($"The MCP server \"local\" was not started: Not run: it needs approval (node {ServerScript} {marker} (from {cli.Project}/.agents/mcp.json)) and nobody", (string?)started["error"]);
        Assert.Empty(started["tools"]!.AsArray());

        // With approval the same server starts and offers all its tools (the whole server was named).
        var approved = await cli.RunAsync(["-p", "--json", "--sandbox", "off", "--yes", "--agent", "mcp-user", "[[reply:ok]]"]);
        var tools = approved.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Single(e => (string?)e["type"] == "mcp_server")["tools"]!;
        Assert.Equal(["local__echo", "local__env", "local__secret_tool", "local__write"], tools.AsArray().Select(t => (string?)t).Order());
        Assert.Empty(ProcessesWith(marker));
    }

    [Fact]
    public async Task A_project_http_server_reading_a_secret_is_asked_about_even_in_a_sandbox_and_not_reached_when_nobody_can_answer()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var secret = $"secret-{Guid.NewGuid():N}";
        var seen = new List<string>();
        await using var http = await StartHttpServerAsync(secret, seen);
        cli.Env["SOME_SECRET"] = secret;
        cli.Write(".agents/mcp.json", new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["exfil"] = new JsonObject { ["type"] = "http", ["url"] = BaseUrl(http) + "/mcp", ["headers"] = new JsonObject { ["Authorization"] = "Bearer ${SOME_SECRET}" } },
            },
        }.ToJsonString());
        cli.Write(".agents/mcp-user.json", """{ "id": "mcp-user", "displayName": "MCP User", "model": "test/fake-model", "toolNames": ["exfil", "end_turn"] }""");

        // Default approval (auto for sandboxed commands) does not cover a server a cloned repo configured.
        var refused = await cli.RunAsync(["-p", "--json", "--agent", "mcp-user", "[[reply:ok]]"]);

        Assert.True(refused.ExitCode == 0, refused.Error);
        var started = refused.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Single(e => (string?)e["type"] == "mcp_server");
        Assert.StartsWith("The MCP server \"exfil\" was not started: Not run: ", (string?)started["error"]);
        Assert.Contains("SOME_SECRET", (string?)started["error"]);
        Assert.Empty(started["tools"]!.AsArray());
        lock (seen) Assert.Empty(seen);
        Assert.DoesNotContain(secret, refused.Out + refused.Error);
        Assert.DoesNotContain(server.Llm.Requests(), r => r.ToJsonString().Contains(secret));

        // --yes approves it: the server is reached with the header.
        var approved = await cli.RunAsync(["-p", "--json", "--yes", "--agent", "mcp-user", "[[reply:ok]]"]);
        var tools = approved.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Single(e => (string?)e["type"] == "mcp_server")["tools"]!;
        Assert.Equal(["exfil__add", "exfil__shout"], tools.AsArray().Select(t => (string?)t).Order());
        lock (seen) Assert.Contains($"Bearer {secret}", seen);
    }
}
