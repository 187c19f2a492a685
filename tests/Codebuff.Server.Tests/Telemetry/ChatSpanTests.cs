using System.Diagnostics;
using Codebuff.Server.Tests.Chat;

namespace Codebuff.Server.Tests.Telemetry;

/// <summary>The spans of a proxied call, as the OpenTelemetry in-memory exporter receives them.</summary>
public sealed class ChatSpanTests(TelemetryFixture server) : IClassFixture<TelemetryFixture>
{
    [Fact]
    public async Task One_streamed_call_is_one_trace_from_client_to_provider_with_the_GenAI_chat_span_and_the_charge_under_it()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        ActivityTraceId trace;
        using (var root = TelemetryFixture.StartClientTrace())
        {
            trace = root.TraceId;
            var response = await client.PostChatAsync(ChatFixture.ChatBody("test/model", runId));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.EndsWith("data: [DONE]\n\n", await response.Content.ReadAsStringAsync());
        }

        var spans = await server.WaitForSpansAsync(trace, s => s.Any(a => a.DisplayName.StartsWith("chat ")) && s.Any(a => a.DisplayName == "charge")
            && s.Count(a => a.Kind == ActivityKind.Server) >= 2);
        var byId = spans.ToDictionary(s => s.SpanId);
        Activity Parent(Activity a) => byId[a.ParentSpanId];

        // CLI side → server: the client's HTTP span is the parent of the server's request span.
        var server0 = Assert.Single(spans, s => s.Kind == ActivityKind.Server && s.DisplayName == "POST /api/v1/chat/completions");
        Assert.Equal(ActivityKind.Client, Parent(server0).Kind);

        var chat = Assert.Single(spans, s => s.Source.Name == "Codebuff.Server" && s.DisplayName != "charge");
        Assert.Equal("chat test/model", chat.DisplayName);
        Assert.Equal(ActivityKind.Client, chat.Kind);
        Assert.Same(server0, Parent(chat));
        Assert.Equal("chat", chat.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", chat.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("test/model", chat.GetTagItem("gen_ai.request.model"));
        Assert.Equal("test/model-reported", chat.GetTagItem("gen_ai.response.model"));
        Assert.StartsWith("gen-", (string)chat.GetTagItem("gen_ai.response.id")!);
        Assert.Equal(1000, chat.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(200, chat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(100, chat.GetTagItem("gen_ai.usage.cache_read.input_tokens"));
        Assert.Equal(50, chat.GetTagItem("gen_ai.usage.reasoning.output_tokens"));
        Assert.Equal(["stop"], (string[])chat.GetTagItem("gen_ai.response.finish_reasons")!);
        Assert.Equal("127.0.0.1", chat.GetTagItem("server.address"));
        Assert.Contains(chat.Events, e => e.Name == "gen_ai.first_chunk");
        Assert.Equal(ActivityStatusCode.Unset, chat.Status);

        // The provider request and the charge both hang under the chat span; the fake provider's own server span
        // continues the same trace, so one action is one trace from the client to the provider.
        var outgoing = Assert.Single(spans, s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http" && s.ParentSpanId == chat.SpanId);
        Assert.EndsWith("/v1/chat/completions", (string)outgoing.GetTagItem("url.full")!);
        Assert.Contains(spans, s => s.Kind == ActivityKind.Server && s.ParentSpanId == outgoing.SpanId);
        var charge = Assert.Single(spans, s => s.DisplayName == "charge");
        Assert.Same(chat, Parent(charge));
        Assert.Equal(1, charge.GetTagItem("codebuff.charge.credits"));
        Assert.Equal("user", charge.GetTagItem("codebuff.charge.owner_kind"));
        Assert.Equal("committed", charge.GetTagItem("codebuff.charge.state"));
        Assert.Equal(false, charge.GetTagItem("codebuff.charge.byok"));
        // The gate's SQL is traced by Npgsql inside the request.
        Assert.Contains(spans, s => s.Source.Name == "Npgsql" && s.Kind == ActivityKind.Client);
    }

    [Fact]
    public async Task A_provider_error_marks_the_chat_span_with_its_status_as_error_type()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        ActivityTraceId trace;
        using (var root = TelemetryFixture.StartClientTrace())
        {
            trace = root.TraceId;
            var response = await client.PostChatAsync(ChatFixture.ChatBody("test/error", runId));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }
        var spans = await server.WaitForSpansAsync(trace, s => s.Any(a => a.DisplayName == "chat test/error"));
        var chat = Assert.Single(spans, s => s.DisplayName == "chat test/error");
        Assert.Equal(ActivityStatusCode.Error, chat.Status);
        Assert.Equal("500", chat.GetTagItem("error.type"));
        Assert.DoesNotContain(spans, s => s.DisplayName == "charge");
    }

    [Fact]
    public async Task No_span_or_metric_holds_the_prompt_the_answer_an_API_key_or_an_e_mail_address()
    {
        var user = await server.CreateUserAsync(credits: 1000);
        var client = server.ClientFor(user);
        var runId = await server.StartRunAsync(client);
        var prompt = $"secret prompt {Guid.NewGuid():N}";
        var byokKey = $"sk-or-byok-{Guid.NewGuid():N}";
        var traces = new List<ActivityTraceId>();
        foreach (var (stream, byok) in new[] { (true, false), (false, false), (true, true) })
        {
            using var root = TelemetryFixture.StartClientTrace();
            traces.Add(root.TraceId);
            var body = ChatFixture.ChatBody("test/model", runId, stream);
            body["messages"]![0]!["content"]![0]!["text"] = prompt;
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
            if (byok) request.Headers.Add("x-openrouter-api-key", byokKey);
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("Hello", await response.Content.ReadAsStringAsync());
        }
        var spans = new List<Activity>();
        foreach (var trace in traces) spans.AddRange(await server.WaitForSpansAsync(trace, s => s.Any(a => a.DisplayName == "charge")));
        Assert.Equal(3, spans.Count(s => s.DisplayName.StartsWith("chat ")));
        Assert.Contains(spans, s => s.DisplayName == "charge" && Equals(s.GetTagItem("codebuff.charge.byok"), true));

        static string Text(object? value) => value is System.Collections.IEnumerable e and not string ? string.Join(",", e.Cast<object?>()) : $"{value}";
        var exported = string.Join("\n", spans.SelectMany(s => new[] { s.DisplayName, s.StatusDescription ?? "" }
            .Concat(s.TagObjects.Select(t => $"{t.Key}={Text(t.Value)}"))
            .Concat(s.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={Text(t.Value)}").Append(e.Name)))
            .Concat(s.Baggage.Select(b => $"{b.Key}={b.Value}"))));
        exported += "\n" + await server.Client.GetStringAsync("/metrics");
        Assert.Contains("gen_ai.usage.input_tokens=1000", exported); // the dump is what was exported
        foreach (var secret in new[] { prompt, "Hello from the fake provider", "Let me think", user.ApiKey, byokKey, "server-provider-key", user.Email, "@example.com" })
            Assert.DoesNotContain(secret, exported);
    }
}
