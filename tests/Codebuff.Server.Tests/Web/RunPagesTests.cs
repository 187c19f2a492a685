using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Orgs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web;

/// <summary>
/// /runs, a run's trace, and the admins' trace search, after the calls the SDK makes for an agent with one sub-agent
/// (START, chat/completions under the run id, a step naming the completion id, FINISH; the child likewise) — the
/// same wire sequence shared/acceptance/sdk's subagent scenario checks, sent by HttpClient: that harness needs the npm
/// package installed, which a test run cannot count on.
/// </summary>
public sealed class RunPagesTests(OrgFixture server) : IClassFixture<OrgFixture>
{
    static StringContent Text(JsonNode body) => new(body.ToJsonString()); // as the SDK sends it: JSON labelled text/plain

    /// <summary>One LLM call under the run and the step that names it; the completion id it got.</summary>
    static async Task<string> StepAsync(HttpClient client, string runId, int number, params string[] children)
    {
        var chat = ChatFixture.ChatBody("test/model", runId);
        chat["codebuff_metadata"]!["client_id"] = "client-" + runId[..8];
        var sse = await (await client.PostChatAsync(chat)).Content.ReadAsStringAsync();
        var messageId = (string)ChatTestHelpers.DataChunks(sse)[0]["id"]!;
        var step = await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text(new JsonObject
        {
            ["stepNumber"] = number, ["credits"] = 1, ["childRunIds"] = new JsonArray(children.Select(c => (JsonNode)c!).ToArray()),
            ["messageId"] = messageId, ["status"] = "completed", ["startTime"] = DateTime.UtcNow.AddSeconds(-1).ToString("O"),
        }));
        Assert.Equal(HttpStatusCode.OK, step.StatusCode);
        return messageId;
    }

    static async Task FinishAsync(HttpClient client, string runId, int credits) =>
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/agent-runs", Text(new JsonObject
        {
            ["action"] = "FINISH", ["runId"] = runId, ["status"] = "completed", ["totalSteps"] = 1, ["directCredits"] = 1, ["totalCredits"] = credits,
        }))).StatusCode);

    async Task<(TestUser User, string Root, string Child, string RootMessage, string ChildMessage)> RunWithSubAgentAsync()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var root = await server.StartRunAsync(client, "base");
        server.Clock.Advance(TimeSpan.FromSeconds(1));
        var child = await server.StartRunAsync(client, "file-picker", root);
        var childMessage = await StepAsync(client, child, 1);
        await FinishAsync(client, child, 1);
        var rootMessage = await StepAsync(client, root, 1, child);
        await FinishAsync(client, root, 2);
        await server.WaitForMessagesAsync(user.Id, 2);
        return (user, root, child, rootMessage, childMessage);
    }

    [Fact]
    public async Task A_runs_trace_shows_its_sub_agent_its_steps_and_each_steps_llm_call()
    {
        var (user, root, child, rootMessage, childMessage) = await RunWithSubAgentAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);

        await tab.GotoAsync("/runs");
        Assert.Equal("Your runs", await tab.HeadingAsync());
        Assert.Equal([child, root], await tab.Page.Locator("#runs tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.run)"));
        Assert.Contains("(sub-agent)", await tab.Page.InnerTextAsync($"tr[data-run='{child}']"));

        await tab.Page.ClickAsync($"tr[data-run='{root}'] a");
        await Assertions.Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Run trace");
        await tab.ScreenshotAsync();
        Assert.Equal(root, await tab.Page.InnerTextAsync("#run-id"));
        Assert.Equal(0, await tab.Page.Locator("#owner").CountAsync());

        // The tree: the child run sits under the root, each with its step and the step's message.
        var rootNode = tab.Page.Locator($"#run-{root}");
        var childNode = rootNode.Locator($"#run-{child}");
        Assert.Equal("file-picker completed", (await childNode.Locator("h2").InnerTextAsync()).Trim());
        var message = rootNode.Locator($"> .steps [data-message='{rootMessage}']");
        Assert.Equal(("test/model-reported", "1,000 (100 cached)", "200", "1"), (await message.Locator(".model").InnerTextAsync(), await message.Locator(".input-tokens").InnerTextAsync(),
            await message.Locator(".output-tokens").InnerTextAsync(), await message.Locator(".credits").InnerTextAsync()));
        Assert.Matches(@"^\d+(\.\d)? m?s$", await message.Locator(".latency").InnerTextAsync());
        Assert.Equal(child, await rootNode.Locator("> .steps .step a[href^='#run-']").InnerTextAsync());
        Assert.Equal("Hello from the fake provider.", await message.Locator(".response pre").InnerTextAsync());
        Assert.Equal("hi", await message.Locator(".sent-message[data-role=user] pre").InnerTextAsync()); // what was sent (service.trace_step)
        Assert.Equal(1, await childNode.Locator($"[data-message='{childMessage}']").CountAsync());
        await tab.ScreenshotAsync();

        // Opening the child shows the same tree, marked at the child.
        await tab.GotoAsync($"/runs/{child}");
        Assert.Equal("true", await tab.Page.GetAttributeAsync($"#run-{child}", "aria-current"));
        Assert.Contains(root, await tab.Page.InnerTextAsync("main section.card"));
    }

    [Fact]
    public async Task Another_users_run_is_not_found_and_signed_out_visitors_are_sent_to_sign_in()
    {
        var (_, root, _, _, _) = await RunWithSubAgentAsync();
        var stranger = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, stranger);
        var response = await tab.GotoAsync($"/runs/{root}");
        Assert.Equal(404, response!.Status);
        Assert.Equal("Run not found", await tab.HeadingAsync());
        Assert.DoesNotContain("test/model", await tab.Page.ContentAsync());

        await tab.GotoAsync("/runs");
        Assert.Contains("No runs yet", await tab.Page.InnerTextAsync("main"));

        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        var redirect = await anonymous.GetAsync($"/runs/{root}");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.EndsWith($"/login?next=%2Fruns%2F{root}", redirect.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Admin_pages_are_refused_to_others_and_admins_find_a_trace_by_client_request_id_or_client_id()
    {
        var (user, root, _, rootMessage, _) = await RunWithSubAgentAsync();

        await using (var outsider = await DashboardTab.OpenAsync(server, user))
        {
            foreach (var path in new[] { "/admin", "/admin/health", $"/admin/traces?search={root}" })
            {
                var refused = await outsider.GotoAsync(path);
                Assert.Equal(403, refused!.Status);
                Assert.Equal("Access Denied", await outsider.HeadingAsync());
                Assert.DoesNotContain(rootMessage, await outsider.Page.ContentAsync());
            }
            Assert.Equal(0, await outsider.Page.Locator("header a[href='/admin']").CountAsync());
        }

        await using var tab = await DashboardTab.OpenAsync(server, await server.SiteAdminAsync());
        await tab.GotoAsync("/admin");
        Assert.Equal("Admin", await tab.HeadingAsync());
        Assert.Equal(["/admin/traces", "/admin/orgs", "/admin/health"], await tab.Page.Locator("main h2 a").EvaluateAllAsync<string[]>("a => a.map(x => x.getAttribute('href'))"));

        await tab.Page.ClickAsync("a[href='/admin/traces']");
        await Assertions.Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Traces");
        await tab.Page.FillAsync("#search", root);
        await tab.Page.ClickAsync("main form button[type=submit]");
        // Commit, then what the new document shows (DOMContentLoaded was not reliably reported on a loaded CI machine).
        await tab.Page.WaitForURLAsync(url => url.EndsWith($"/admin/traces?search={root}"), new() { WaitUntil = WaitUntilState.Commit });
        await tab.Page.Locator("#run-hit").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Contains(user.Email, await tab.Page.InnerTextAsync("#run-hit"));
        var hit = tab.Page.Locator($"#hits tr[data-message='{rootMessage}']");
        Assert.Equal(1, await tab.Page.Locator("#hits tbody tr").CountAsync()); // the child's call was billed under the child run
        Assert.Contains(user.Email, await hit.InnerTextAsync());
        Assert.Contains("test/model-reported", await hit.InnerTextAsync());

        // By client id (each run's calls carried their own): the root's call again.
        await tab.GotoAsync($"/admin/traces?search=client-{root[..8]}");
        Assert.Equal([rootMessage], await tab.Page.Locator("#hits tbody tr").EvaluateAllAsync<string[]>("r => r.map(x => x.dataset.message)"));
        Assert.Equal(0, await tab.Page.Locator("#run-hit").CountAsync());

        // The admin opens the user's trace.
        await tab.Page.ClickAsync($"#hits tr[data-message='{rootMessage}'] a[href='/runs/{root}']");
        await Assertions.Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Run trace");
        await tab.ScreenshotAsync();
        Assert.Equal(user.Email, await tab.Page.InnerTextAsync("#owner"));
        Assert.Equal(1, await tab.Page.Locator($"[data-message='{rootMessage}']").CountAsync());

        await tab.GotoAsync("/admin/traces?search=nothing-like-this");
        Assert.Contains("No LLM calls match", await tab.Page.InnerTextAsync("#no-hits"));
    }

    /// <summary>A call with a system prompt and the conversation so far, naming its project as our CLI does.</summary>
    static JsonObject ConversationBody(string model, string runId, params JsonObject[] messages)
    {
        var body = ChatFixture.ChatBody(model, runId);
        body["messages"] = new JsonArray([new JsonObject { ["role"] = "system", ["content"] = "You are Buffy, a coding agent. " + new string('x', 500) }, .. messages]);
        body["codebuff_metadata"]!["project_name"] = "my-project";
        return body;
    }

    static async Task<string> ReportStepAsync(HttpClient client, string runId, int number, HttpResponseMessage chat)
    {
        var messageId = (string)ChatTestHelpers.DataChunks(await chat.Content.ReadAsStringAsync())[0]["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/agent-runs/{runId}/steps", Text(new JsonObject
        {
            ["stepNumber"] = number, ["credits"] = 1, ["messageId"] = messageId, ["status"] = "completed", ["startTime"] = DateTime.UtcNow.AddSeconds(-1).ToString("O"),
        }))).StatusCode);
        return messageId;
    }

    static async Task WaitForTraceStepsAsync(ServerFixture server, string runId, int count)
    {
        for (var i = 0; i < 100; i++)
        {
            await using var db = server.NewDbContext();
            if (await db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM service.trace_step WHERE run_id = {runId}").SingleAsync() >= count) return;
            await Task.Delay(100);
        }
        Assert.Fail($"run {runId} has fewer than {count} trace steps");
    }

    [Fact]
    public async Task A_step_shows_what_was_sent_the_answers_tool_call_with_its_arguments_and_the_tool_result_and_the_run_its_prompt_and_project()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client, "base");
        var prompt = new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Fix the bug in src/a.txt" }) };
        var first = await ReportStepAsync(client, runId, 1, await client.PostChatAsync(ConversationBody("test/toolcall", runId, prompt)));
        var answer = new JsonObject
        {
            ["role"] = "assistant", ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "read_files", ["arguments"] = FakeUpstream.ToolArguments } }),
        };
        var result = new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "src/a.txt: let x = 1 +" };
        var second = await ReportStepAsync(client, runId, 2, await client.PostChatAsync(ConversationBody("test/model", runId, prompt.DeepClone().AsObject(), answer, result)));
        await WaitForTraceStepsAsync(server, runId, 2);
        await server.WaitForMessagesAsync(user.Id, 2);

        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/runs");
        var row = tab.Page.Locator($"tr[data-run='{runId}']");
        Assert.Equal(("Fix the bug in src/a.txt", "base", "my-project", "running"), (await row.Locator(".prompt").InnerTextAsync(), await row.Locator(".agent").InnerTextAsync(),
            await row.Locator(".project").InnerTextAsync(), (await row.Locator(".status").InnerTextAsync()).Trim()));

        await tab.GotoAsync($"/runs/{runId}");
        Assert.Equal("Fix the bug in src/a.txt", await tab.Page.InnerTextAsync($"#run-{runId} .run-prompt q"));
        Assert.Equal("my-project", await tab.Page.InnerTextAsync($"#run-{runId} .run-project code"));
        var one = tab.Page.Locator($"[data-message='{first}']");
        // The system prompt is collapsed; the new user message is shown in full; the answer is the tool call and its arguments.
        Assert.False(await one.Locator(".system-prompt pre").IsVisibleAsync());
        Assert.StartsWith("System prompt (531 characters)", await one.Locator(".system-prompt summary").InnerTextAsync());
        Assert.Equal(["user"], await one.Locator(".sent-message").EvaluateAllAsync<string[]>("m => m.map(x => x.dataset.role)"));
        Assert.Equal("Fix the bug in src/a.txt", await one.Locator(".sent-message pre").InnerTextAsync());
        Assert.Equal("read_files", await one.Locator(".tool-call .tool-name").InnerTextAsync());
        Assert.Equal(JsonNode.Parse(FakeUpstream.ToolArguments)!.ToJsonString(), JsonNode.Parse(await one.Locator(".tool-call .tool-args").InnerTextAsync())!.ToJsonString());
        Assert.Equal(("1,000 (100 cached)", "200"), (await one.Locator(".input-tokens").InnerTextAsync(), await one.Locator(".output-tokens").InnerTextAsync()));
        Assert.NotEqual("0", await one.Locator(".credits").InnerTextAsync());
        await one.Locator(".system-prompt summary").ClickAsync();
        Assert.StartsWith("You are Buffy, a coding agent.", await one.Locator(".system-prompt pre").InnerTextAsync());
        // The next step was sent only the tool's result as new; its answer is text.
        var two = tab.Page.Locator($"[data-message='{second}']");
        Assert.Equal(["tool"], await two.Locator(".sent-message").EvaluateAllAsync<string[]>("m => m.map(x => x.dataset.role)"));
        Assert.Equal("src/a.txt: let x = 1 +", await two.Locator(".sent-message pre").InnerTextAsync());
        Assert.Equal("Tool result (call_1)", await two.Locator(".sent-message p").InnerTextAsync());
        Assert.Equal("Hello from the fake provider.", await two.Locator(".response pre").InnerTextAsync());
        Assert.Equal(0, await two.Locator(".tool-call").CountAsync());
        await tab.ScreenshotAsync();
    }

    [Fact]
    public async Task Runs_list_filters_by_agent_status_and_day()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var finished = await server.StartRunAsync(client, "base");
        await FinishAsync(client, finished, 0);
        server.Clock.Advance(TimeSpan.FromSeconds(1));
        var running = await server.StartRunAsync(client, "file-picker");
        DateTime started;
        await using (var db = server.NewDbContext())
            started = await db.AgentRuns.Where(r => r.Id == running).Select(r => r.CreatedAt).SingleAsync();
        using var browser = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        async Task<string[]> Runs(string query)
        {
            var page = await browser.GetStringAsync("/runs" + query);
            return System.Text.RegularExpressions.Regex.Matches(page, "<tr data-run=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
        }
        var day = started.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var dayBefore = started.AddDays(-1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal([running, finished], await Runs(""));
        Assert.Equal([running], await Runs("?agent=file-picker"));
        Assert.Equal([finished], await Runs("?status=completed"));
        Assert.Equal([running], await Runs("?status=running&agent=file-picker"));
        Assert.Empty(await Runs("?status=failed"));
        Assert.Equal([running, finished], await Runs($"?date={day}"));
        Assert.Empty(await Runs($"?date={dayBefore}"));
        Assert.Contains("No runs match these filters.", await browser.GetStringAsync($"/runs?date={dayBefore}"));

        var bad = await browser.GetAsync("/runs?status=exploded");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("There is no run status 'exploded'.", WebUtility.HtmlDecode(await bad.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync("/runs?date=yesterday")).StatusCode);
    }
}
