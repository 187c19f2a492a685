using System.Diagnostics;
using System.Net;
using System.Text;
using Codebuff.Cli.Api;

namespace Codebuff.Cli.Tests.Api;

/// <summary>The CLI's calls carry W3C traceparent: one action's calls share a trace, the next action starts another.</summary>
public sealed class TraceparentTests
{
    sealed class Recorder : HttpMessageHandler
    {
        public List<string> Traceparents { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Traceparents.Add(string.Join("|", request.Headers.TryGetValues("traceparent", out var v) ? v : []));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("""{"id":"u1","email":"a@example.com","runId":"r1"}""", Encoding.UTF8, "application/json"),
            });
        }
    }

    [Fact]
    public async Task Calls_of_one_action_share_a_sampled_trace_with_a_span_each_and_a_new_action_starts_a_new_trace()
    {
        var recorder = new Recorder();
        using var api = new CodebuffApi("http://codebuff.test", "token", recorder);
        await api.MeAsync(CancellationToken.None);
        await api.StartRunAsync("base", [], CancellationToken.None);
        api.BeginAction();
        await api.MeAsync(CancellationToken.None);

        var parsed = recorder.Traceparents.Select(t => Assert.IsType<string>(t).Split('-')).ToList();
        Assert.All(parsed, p =>
        {
            Assert.Equal(4, p.Length);
            Assert.Equal("00", p[0]);
            Assert.Matches("^[0-9a-f]{32}$", p[1]);
            Assert.Matches("^[0-9a-f]{16}$", p[2]);
            Assert.Equal("01", p[3]);
            // What the server's ASP.NET Core reads back as the parent.
            Assert.True(ActivityContext.TryParse(string.Join("-", p), null, out var context));
            Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
        });
        Assert.Equal(parsed[0][1], parsed[1][1]);
        Assert.NotEqual(parsed[0][2], parsed[1][2]);
        Assert.NotEqual(parsed[1][1], parsed[2][1]);
        Assert.Equal(api.TraceId.ToHexString(), parsed[2][1]);
    }
}
