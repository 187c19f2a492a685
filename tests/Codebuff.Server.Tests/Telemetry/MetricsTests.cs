using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Codebuff.Server.Tests.Chat;

namespace Codebuff.Server.Tests.Telemetry;

/// <summary>The instruments as Prometheus sees them at /metrics, who may read /metrics, and the operator page.</summary>
public sealed class MetricsTests(TelemetryFixture server) : IClassFixture<TelemetryFixture>
{
    async Task<(Infrastructure.TestUser User, HttpClient Client, string RunId)> SetUpAsync(int? credits)
    {
        var user = await server.CreateUserAsync(credits);
        var client = server.ClientFor(user);
        return (user, client, await server.StartRunAsync(client));
    }

    static async Task StreamAsync(HttpClient client, string model, string runId)
    {
        var response = await client.PostChatAsync(ChatFixture.ChatBody(model, runId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Prometheus_scrapes_metrics_and_reads_back_the_GenAI_and_billing_series_of_billed_calls()
    {
        await using var prometheus = PrometheusServer.Start(server.Port);
        var (_, client, runId) = await SetUpAsync(1000);
        // A model of this test's own: the other tests' hosts in this process share the instruments.
        var model = $"otel{Guid.NewGuid():N}"[..16] + "/model";
        await StreamAsync(client, model, runId);
        await StreamAsync(client, model, runId);
        var (_, broke, brokeRun) = await SetUpAsync(null);
        Assert.Equal(HttpStatusCode.PaymentRequired, (await broke.PostChatAsync(ChatFixture.ChatBody(model, brokeRun))).StatusCode);

        var m = $"gen_ai_request_model=\"{model}\"";
        Assert.Equal(1, await prometheus.WaitForAsync("up{job=\"codebuff\"}", v => v == 1));
        Assert.Equal(2000, await prometheus.WaitForAsync($"sum(gen_ai_client_token_usage_sum{{{m},gen_ai_token_type=\"input\"}})", v => v >= 2000));
        Assert.Equal(400, await prometheus.WaitForAsync($"sum(gen_ai_client_token_usage_sum{{{m},gen_ai_token_type=\"output\"}})", v => v >= 400));
        Assert.Equal(2, await prometheus.WaitForAsync($"sum(gen_ai_client_operation_duration_seconds_count{{{m},gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\"}})", v => v >= 2));
        Assert.Equal(2, await prometheus.WaitForAsync($"sum(gen_ai_client_operation_time_to_first_chunk_seconds_count{{{m}}})", v => v >= 2));
        Assert.Equal(2, await prometheus.WaitForAsync($"sum(codebuff_chat_overhead_seconds_count{{{m}}})", v => v >= 2));
        // The conventions' bucket boundaries (Prometheus 3 writes "le" as a float: 1024.0).
        Assert.Equal(2, await prometheus.WaitForAsync($"sum(gen_ai_client_token_usage_bucket{{{m},gen_ai_token_type=\"input\",le=~\"1024(\\\\.0)?\"}})", v => v >= 2));
        Assert.Equal(0, await prometheus.WaitForAsync($"sum(gen_ai_client_token_usage_bucket{{{m},gen_ai_token_type=\"input\",le=~\"256(\\\\.0)?\"}})", v => v == 0));
        Assert.NotNull(await prometheus.WaitForAsync($"sum(gen_ai_client_operation_duration_seconds_bucket{{{m},le=\"81.92\"}})", v => v >= 2));
        // Billing and gates (shared by every host in this process, so at least this test's own).
        Assert.True(await prometheus.WaitForAsync("sum(codebuff_billing_credits_billed_total{codebuff_owner_kind=\"user\"})", v => v >= 2) >= 2);
        Assert.True(await prometheus.WaitForAsync("sum(codebuff_billing_charges_committed_total)", v => v >= 2) >= 2);
        Assert.True(await prometheus.WaitForAsync("sum(codebuff_chat_refusals_total{codebuff_refusal_reason=\"out_of_credits\",http_response_status_code=\"402\"})", v => v >= 1) >= 1);
        Assert.NotNull(await prometheus.WaitForAsync("sum(codebuff_billing_pending_charges)", _ => true));
        Assert.NotNull(await prometheus.WaitForAsync("sum(codebuff_chat_reservations_in_flight)", _ => true));
        // The database pool, from Npgsql's own instruments.
        Assert.NotNull(await prometheus.WaitForAsync("count({__name__=~\"db_client_connection.*\"})", v => v >= 1));
    }

    [Fact]
    public async Task Metrics_answer_loopback_the_token_and_site_admins_and_refuse_anyone_else_with_a_json_body()
    {
        var local = await server.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        Assert.StartsWith("text/plain", local.Content.Headers.ContentType?.ToString());
        Assert.Contains("# TYPE ", await local.Content.ReadAsStringAsync());

        // From this machine's non-loopback address, as a Prometheus on another host would come.
        var lan = NetworkInterface.GetAllNetworkInterfaces().Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .First(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        using var remote = new HttpClient { BaseAddress = new Uri($"http://{lan}:{server.Port}") };
        HttpRequestMessage Get(string? bearer)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            return request;
        }

        var anonymous = await remote.SendAsync(Get(null));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("unauthorized", (string?)(await anonymous.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        var wrong = await remote.SendAsync(Get(TelemetryFixture.MetricsToken + "x"));
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal("forbidden", (string?)(await wrong.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        var user = await server.CreateUserAsync();
        var member = await remote.SendAsync(Get(user.ApiKey));
        Assert.Equal(HttpStatusCode.Forbidden, member.StatusCode);
        Assert.DoesNotContain("# TYPE", await member.Content.ReadAsStringAsync());

        var token = await remote.SendAsync(Get(TelemetryFixture.MetricsToken));
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        Assert.Contains("# TYPE ", await token.Content.ReadAsStringAsync());
        var admin = await server.CreateAdminAsync();
        var asAdmin = await remote.SendAsync(Get(admin.ApiKey));
        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        Assert.Contains("# TYPE ", await asAdmin.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Behind a reverse proxy on the same host every request comes from loopback: one that carries a proxy's
    /// forwarding header is not taken for a local Prometheus.
    /// </summary>
    [Theory]
    [InlineData("X-Forwarded-For", "127.0.0.1")]
    [InlineData("X-Forwarded-Host", "codebuff.example")]
    [InlineData("X-Real-IP", "203.0.113.9")]
    [InlineData("Forwarded", "for=127.0.0.1")]
    public async Task A_loopback_request_carrying_a_forwarding_header_needs_the_token_or_an_admin(string header, string value)
    {
        var proxied = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        proxied.Headers.TryAddWithoutValidation(header, value);
        var refused = await server.Client.SendAsync(proxied);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("unauthorized", (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]);

        var withToken = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        withToken.Headers.TryAddWithoutValidation(header, value);
        withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TelemetryFixture.MetricsToken);
        var allowed = await server.Client.SendAsync(withToken);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("# TYPE ", await allowed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_database_pool_is_labelled_by_its_name_never_by_its_connection_string()
    {
        await server.CreateUserAsync(); // the pool has been used
        var text = await (await server.Client.GetAsync("/metrics")).Content.ReadAsStringAsync();
        var pool = text.Split('\n').Where(l => l.StartsWith("db_client_connection", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(pool);
        Assert.Contains(pool, l => l.Contains("pool_name=\"codebuff\""));
        // The meter is the process's: other tests' own connections (to other clusters and databases) may show here too,
        // so the check is on this server's database, whose name is unique to the fixture. Unnamed, its pool was labelled
        // "Host=…;Port=…;Username=…;Database=<it>;…".
        var database = new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString).Database!;
        Assert.All(pool, l => Assert.DoesNotContain(database, l));
    }

    [Fact]
    public async Task The_operator_page_shows_this_instances_calls_overhead_refusals_and_is_for_site_admins()
    {
        var (_, client, runId) = await SetUpAsync(1000);
        await StreamAsync(client, "test/model", runId);
        var (_, broke, brokeRun) = await SetUpAsync(null);
        Assert.Equal(HttpStatusCode.PaymentRequired, (await broke.PostChatAsync(ChatFixture.ChatBody("test/model", brokeRun))).StatusCode);

        var admin = await server.CookieClientAsync(await server.CreateAdminAsync());
        var page = await admin.GetAsync("/admin/health");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains($"<code id=\"instance-name\">{TelemetryFixture.Instance}</code>", html);
        Assert.Contains("Figures are this instance", html);
        Assert.Contains("id=\"calls-chart\"", html);
        Assert.Matches("data-figure=\"calls-last-minute\"><th scope=\"row\">[^<]+</th><td class=\"num\">[1-9]", html);
        Assert.Matches("data-figure=\"overhead-p99\"><th scope=\"row\">[^<]+</th><td class=\"num\">[0-9.]+ ms", html);
        Assert.Matches("data-figure=\"charges-committed\"><th scope=\"row\">[^<]+</th><td class=\"num\">[1-9]", html);
        Assert.Contains("data-provider=\"openai\"", html);
        Assert.Contains("data-status=\"402\" data-reason=\"out_of_credits\"", html);
        Assert.Contains("<td><code>db.client.connection.count</code></td><td>idle</td>", html);
        Assert.Contains("<td><code>db.client.connection.max</code></td>", html);

        var member = await server.CookieClientAsync(await server.CreateUserAsync());
        var refused = await member.GetAsync("/admin/health");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain("instance-name", await refused.Content.ReadAsStringAsync());
    }
}
