using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Codebuff.Server.Tests.Chat.Anthropic;

/// <summary>
/// A fake of Anthropic's Messages API (POST /v1/messages) on loopback, answering in its documented shapes: a message
/// object, or the event stream (message_start, content_block_start/delta/stop, message_delta, message_stop, ping).
/// It refuses a request without x-api-key (or with a key containing "rejected") or without anthropic-version as the
/// API does (401/400 error objects). What the
/// last user message says picks the answer: "tool" a thinking block, a text and a tool_use block (stop_reason
/// tool_use); "overloaded" a 529 overloaded_error; "midstream" an error event after message_start; otherwise the
/// text <see cref="Text"/>. Usage is always <see cref="Usage"/>.
/// </summary>
public sealed class FakeAnthropic : IAsyncDisposable
{
    WebApplication? _app;
    public string BaseUrl { get; private set; } = "";
    public ConcurrentQueue<(string? ApiKey, string? Version, string? Authorization, JsonObject Body)> Requests { get; } = new();

    public const string Text = "Hello from Claude.";
    public const string Thinking = "Let me think.";
    public const string Signature = "sig-EqQBCkYIBxgCKkBx";
    public const string ToolInput = """{"paths":["src/a.txt"]}""";

    /// <summary>10,000 fresh input tokens, 200,000 read from the cache, 100,000 written to it, 5,000 output.</summary>
    public static JsonObject Usage(int output = 5000) => new()
    {
        ["input_tokens"] = 10000, ["cache_creation_input_tokens"] = 100000, ["cache_read_input_tokens"] = 200000, ["output_tokens"] = output,
    };

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/messages", Handle);
        await _app.StartAsync();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1";
    }

    static Task Error(HttpResponse response, int status, string type, string message)
    {
        response.StatusCode = status;
        return response.WriteAsJsonAsync(new { type = "error", error = new { type, message } });
    }

    async Task Handle(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var headers = context.Request.Headers;
        Requests.Enqueue((headers["x-api-key"].FirstOrDefault(), headers["anthropic-version"].FirstOrDefault(), headers.Authorization.FirstOrDefault(), body));
        var response = context.Response;
        if (string.IsNullOrEmpty(headers["x-api-key"])) { await Error(response, 401, "authentication_error", "x-api-key header is required"); return; }
        if (headers["x-api-key"].ToString().Contains("rejected")) { await Error(response, 401, "authentication_error", "invalid x-api-key"); return; }
        if (string.IsNullOrEmpty(headers["anthropic-version"])) { await Error(response, 400, "invalid_request_error", "anthropic-version header is required"); return; }
        if (body["max_tokens"] is null || body["messages"] is not JsonArray messages)
        {
            await Error(response, 400, "invalid_request_error", "max_tokens: Field required");
            return;
        }
        var said = string.Concat(messages.Where(m => (string?)m!["role"] == "user").TakeLast(1)
            .SelectMany(m => m!["content"]!.AsArray()).Select(b => (string?)b!["text"] ?? ""));
        if (said.Contains("overloaded")) { await Error(response, 529, "overloaded_error", "Overloaded"); return; }

        var id = $"msg_{Guid.NewGuid():N}";
        var model = (string)body["model"]!;
        var tool = said.Contains("tool");
        if (body["stream"] is not JsonValue s || !(bool)s)
        {
            var content = tool
                ? new JsonArray(
                    new JsonObject { ["type"] = "thinking", ["thinking"] = Thinking, ["signature"] = Signature },
                    new JsonObject { ["type"] = "text", ["text"] = "Reading it." },
                    new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_01", ["name"] = "read_files", ["input"] = JsonNode.Parse(ToolInput) })
                : new JsonArray(new JsonObject { ["type"] = "text", ["text"] = Text });
            await response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = id, ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = content,
                ["stop_reason"] = tool ? "tool_use" : "end_turn", ["stop_sequence"] = null, ["usage"] = Usage(),
            });
            return;
        }

        response.ContentType = "text/event-stream; charset=utf-8";
        async Task Event(string type, JsonObject data)
        {
            data["type"] = type;
            await response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n");
            await response.Body.FlushAsync();
        }
        var start = Usage(output: 1);
        await Event("message_start", new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["id"] = id, ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = new JsonArray(),
                ["stop_reason"] = null, ["stop_sequence"] = null, ["usage"] = start,
            },
        });
        if (said.Contains("midstream"))
        {
            await Event("error", new JsonObject { ["error"] = new JsonObject { ["type"] = "overloaded_error", ["message"] = "Overloaded" } });
            return;
        }
        await Event("ping", new JsonObject());
        var index = 0;
        if (tool)
        {
            await Event("content_block_start", new JsonObject { ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "thinking", ["thinking"] = "" } });
            foreach (var part in new[] { "Let me ", "think." })
                await Event("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "thinking_delta", ["thinking"] = part } });
            await Event("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "signature_delta", ["signature"] = Signature } });
            await Event("content_block_stop", new JsonObject { ["index"] = index++ });
        }
        await Event("content_block_start", new JsonObject { ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
        foreach (var part in tool ? ["Reading ", "it."] : new[] { "Hello ", "from ", "Claude." })
            await Event("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = part } });
        await Event("content_block_stop", new JsonObject { ["index"] = index++ });
        if (tool)
        {
            await Event("content_block_start", new JsonObject
            {
                ["index"] = index,
                ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_01", ["name"] = "read_files", ["input"] = new JsonObject() },
            });
            foreach (var part in new[] { ToolInput[..10], ToolInput[10..] })
                await Event("content_block_delta", new JsonObject { ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = part } });
            await Event("content_block_stop", new JsonObject { ["index"] = index++ });
        }
        await Event("message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = tool ? "tool_use" : "end_turn", ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = 5000 },
        });
        await Event("message_stop", new JsonObject());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
