using Codebuff.Server.Tests.Auth;
using Codebuff.Server.Tests.Chat;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.ScaleOut;

/// <summary>Two and three instances on one database behind a round-robin proxy behave as one server.</summary>
public sealed class ScaleOutTests(ScaleOutFixture server) : IClassFixture<ScaleOutFixture>
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Cli_login_works_with_every_request_on_another_instance_and_its_token_works_everywhere(int instances)
    {
        var (cli, cliProxy) = server.Balanced(instances);
        var cookies = new System.Net.CookieContainer();
        var (browser, browserProxy) = server.Balanced(instances, cookies: cookies);
        var fingerprint = "codebuff-cli-scale" + Guid.NewGuid().ToString("N")[..8];
        var email = $"scale{Guid.NewGuid():N}@example.com";
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1, long.MaxValue / 2), "scaler", "Scale Out", email);

        var codeResponse = await cli.PostAsJsonAsync("/api/auth/cli/code", new { fingerprintId = fingerprint });
        Assert.Equal(HttpStatusCode.OK, codeResponse.StatusCode);
        var code = (await codeResponse.Content.ReadFromJsonAsync<JsonObject>())!;
        var poll = $"/api/auth/cli/status?fingerprintId={fingerprint}&fingerprintHash={code["fingerprintHash"]}&expiresAt={code["expiresAt"]}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await cli.GetAsync(poll)).StatusCode);

        // The browser signs in (start, GitHub, callback: three instances) and opens the login link on yet another.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/auth/signin/github")).StatusCode);
        Assert.Contains("You&#39;re logged in!", (await CliLoginBrowser.ConfirmAsync(browser, (string)code["loginUrl"]!)).Body);

        var done = await cli.GetAsync(poll);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var user = (await done.Content.ReadFromJsonAsync<JsonObject>())!["user"]!;
        Assert.Equal((email, fingerprint), ((string?)user["email"], (string?)user["fingerprintId"]));
        var token = (string)user["authToken"]!;

        // Consecutive requests of each client landed on different instances, and every instance served some.
        Assert.All(cliProxy.Served.Zip(cliProxy.Served.Skip(1)), p => Assert.NotEqual(p.First, p.Second));
        Assert.Equal(instances, cliProxy.Served.Concat(browserProxy.Served).Distinct().Count());

        // The token minted through one instance works on each of them.
        foreach (var instance in server.Instances.Take(instances))
        {
            using var me = new HttpClient { BaseAddress = instance };
            me.DefaultRequestHeaders.Authorization = new("Bearer", token);
            Assert.Equal(email, (string?)(await me.GetFromJsonAsync<JsonObject>("/api/v1/me?fields=email"))!["email"]);
        }

        // Collected once: a second poll finds nothing, and the encrypted token is gone from the shared table.
        Assert.Equal(HttpStatusCode.Unauthorized, (await cli.GetAsync(poll)).StatusCode);
        await using var db = server.NewDbContext();
        var sessionHash = await db.Sessions.Where(s => s.FingerprintId == fingerprint && s.Type == Data.SessionType.Cli).Select(s => s.SessionToken).SingleAsync();
        Assert.Equal(0, await db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM service.cli_login_token WHERE session_hash = {sessionHash}").SingleAsync());
    }

    [Fact]
    public async Task The_chat_limit_of_ten_a_minute_allows_ten_calls_across_three_instances()
    {
        var user = await server.CreateUserAsync(1000);
        var (client, proxy) = server.Balanced(3, user);
        var runId = await server.StartRunAsync(client);
        var started = DateTime.UtcNow;
        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => client.PostChatAsync(ChatFixture.ChatBody("test/model", runId))));
        var elapsed = DateTime.UtcNow - started;

        var ok = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        // Ten from the full bucket, plus whatever refilled while the calls ran (one every six seconds).
        Assert.InRange(ok, ScaleOutFixture.ChatPerMinute, ScaleOutFixture.ChatPerMinute + (int)(elapsed.TotalSeconds / 6));
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.OK), a => Assert.Equal((HttpStatusCode)429, a.StatusCode));
        Assert.Equal(3, proxy.Served.Distinct().Count());
        Assert.Equal(ok, (await server.WaitForMessagesAsync(user.Id, ok)).Count);
    }

    [Fact]
    public async Task The_per_ip_token_route_limit_is_counted_once_across_instances_and_each_new_token_works_on_every_instance()
    {
        var (client, proxy) = server.Balanced(3);
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 3 * ScaleOutFixture.TokensPerMinute; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/api-keys") { Content = JsonContent.Create(new { }) };
            request.Headers.Authorization = new("Bearer", (await server.CreateUserAsync()).ApiKey);
            answers.Add(await client.SendAsync(request));
        }
        Assert.Equal(3, proxy.Served.Distinct().Count());
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Created, ScaleOutFixture.TokensPerMinute)
            .Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 2 * ScaleOutFixture.TokensPerMinute)), answers.Select(a => a.StatusCode));

        foreach (var created in answers.Take(ScaleOutFixture.TokensPerMinute))
        {
            var pat = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["token"]!;
            foreach (var instance in server.Instances)
            {
                using var other = new HttpClient { BaseAddress = instance };
                other.DefaultRequestHeaders.Authorization = new("Bearer", pat);
                Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/v1/me?fields=email")).StatusCode);
            }
        }
    }
}
