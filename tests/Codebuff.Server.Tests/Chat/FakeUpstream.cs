using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Codebuff.Server.Tests.Chat;

/// <summary>
/// A fake OpenAI-compatible provider on loopback. The model name picks the behaviour:
/// "nocost" usage without cost, "nousage" no usage chunk, "noid" chunks without ids, "error" a 500 with an OpenRouter
/// error body, "cut" drops the connection in the middle of its third chunk, "stall" goes silent after one chunk, "quiet" stays
/// silent for 600 ms before its first chunk, "drip" spaces its chunks 150 ms apart, "fixedid" always answers id
/// "gen-fixed-&lt;suffix of the model&gt;", "nochoices" sends its usage chunk without a choices array, "late" waits 2 s before its response headers, "splitcost" reports
/// cost $0.40 plus upstream_inference_cost $0.10, "held" answers only once the test completes <see cref="Hold"/>, "trickle" streams comments after its first chunk until then. Usage costs $0.0123 (→ 1 credit) unless the model contains "pricey" ($0.50 → 53)
/// or "tencredits" ($0.0948 → 10). The answer reports the model as "&lt;model&gt;-reported", or — when the body has
/// OpenRouter's fallback list <c>models</c> — as its last entry, as if the ones before had failed.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    WebApplication? _app;
    public string BaseUrl { get; private set; } = "";
    public ConcurrentQueue<(string? Authorization, JsonObject Body)> Requests { get; } = new();

    /// <summary>The arguments of the one tool call a "toolcall" model answers with.</summary>
    public const string ToolArguments = """{"paths":["src/a.txt"]}""";

    /// <summary>What "held" models wait for before answering: lets a test decide exactly when answers arrive.</summary>
    public TaskCompletionSource Hold { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The status this provider fails a model with before answering anything (null: it answers), for fallback tests.</summary>
    public Func<string, int?> Fails { get; init; } = _ => null;

    /// <summary>Models whose non-streamed answer this provider cuts off half-way through its 200 body, for fallback tests.</summary>
    public Func<string, bool> BreaksBody { get; init; } = _ => false;

    /// <summary>Every model waits for <see cref="Hold"/>, for tests that need a priced model held in flight.</summary>
    public bool HoldAll { get; set; }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/chat/completions", Handle);
        await _app.StartAsync();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1";
    }

    async Task Handle(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        Requests.Enqueue((context.Request.Headers.Authorization.ToString(), body));
        var model = (string?)body["model"] ?? "";
        var response = context.Response;
        if (model.Contains("late")) await Task.Delay(2000, context.RequestAborted).ContinueWith(_ => { });
        if (model.Contains("held") || HoldAll) await Hold.Task;
        if (Fails(model) is { } status)
        {
            response.StatusCode = status;
            await response.WriteAsJsonAsync(new { error = new { message = $"fake provider refused with {status}", code = status } });
            return;
        }
        if (model.Contains("error"))
        {
            response.StatusCode = 500;
            await response.WriteAsJsonAsync(new { error = new { message = "fake provider failure", code = 500, metadata = new { raw = "overloaded", provider_name = "FakeAI" } } });
            return;
        }
        if (BreaksBody(model) && body["stream"]?.GetValue<bool>() != true)
        {
            response.ContentType = "application/json";
            await response.WriteAsync("{\"id\":\"gen-broken\",\"choices\":[");
            await response.Body.FlushAsync();
            await Task.Delay(100);
            context.Abort();
            return;
        }
        var id = model.Contains("fixedid") ? "gen-fixed-" + model.Split("fixedid")[^1] : model.Contains("noid") ? null : $"gen-{Guid.NewGuid():N}";
        var cost = model.Contains("pricey") ? 0.5 : model.Contains("tencredits") ? 0.0948 : 0.0123;
        var reported = body["models"] is JsonArray { Count: > 0 } fallbacks ? (string?)fallbacks[^1] ?? model : model + "-reported";
        var usage = new JsonObject
        {
            ["prompt_tokens"] = 1000, ["completion_tokens"] = 200, ["total_tokens"] = 1200,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 100 },
            ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 50 },
        };
        if (model.Contains("splitcost")) { usage["cost"] = 0.4; usage["cost_details"] = new JsonObject { ["upstream_inference_cost"] = 0.1 }; }
        else if (!model.Contains("nocost")) { usage["cost"] = cost; usage["cost_details"] = new JsonObject { ["upstream_inference_cost"] = 0 }; }

        if (body["stream"]?.GetValue<bool>() != true)
        {
            var completion = new JsonObject
            {
                ["object"] = "chat.completion", ["model"] = reported,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "Hello there", ["reasoning"] = "thinking" }, ["finish_reason"] = "stop" }),
            };
            if (model.Contains("toolcall"))
            {
                var message = completion["choices"]![0]!["message"]!.AsObject();
                message["content"] = null;
                message["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "read_files", ["arguments"] = ToolArguments },
                });
            }
            if (id is not null) completion["id"] = id;
            if (!model.Contains("nousage")) completion["usage"] = usage;
            await response.WriteAsJsonAsync(completion);
            return;
        }

        response.ContentType = "text/event-stream";
        context.Features.Get<IHttpResponseBodyFeature>()!.DisableBuffering();
        await response.Body.FlushAsync();
        async Task Send(string text) { await response.WriteAsync(text); await response.Body.FlushAsync(); }
        JsonObject Chunk(JsonArray choices)
        {
            var chunk = new JsonObject { ["object"] = "chat.completion.chunk", ["created"] = 1730000000, ["model"] = reported, ["choices"] = choices };
            if (id is not null) chunk["id"] = id;
            return chunk;
        }
        JsonArray Delta(JsonObject delta) => new(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = null });

        if (model.Contains("quiet")) await Task.Delay(600);
        await Send(": OPENROUTER PROCESSING\n\n");
        await Send($"data: {Chunk(Delta(new JsonObject { ["role"] = "assistant", ["reasoning"] = "Let me think. " })).ToJsonString()}\n\n");
        // Streams on, a comment every 200 ms, until the test completes Hold: a stream that outlasts any timeout.
        if (model.Contains("trickle")) while (!Hold.Task.IsCompleted) { await Task.Delay(200); await Send(": still thinking\n\n"); }
        if (model.Contains("stall")) { await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { }); return; }
        if (model.Contains("toolcall"))
        {
            // One tool call, its arguments split over chunks as providers stream them (the id and name come first, once).
            await Send($"data: {Chunk(Delta(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "read_files", ["arguments"] = "" } }) })).ToJsonString()}\n\n");
            foreach (var part in new[] { ToolArguments[..10], ToolArguments[10..] })
                await Send($"data: {Chunk(Delta(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = part } }) })).ToJsonString()}\n\n");
        }
        string[] words = model.Contains("toolcall") ? [] : ["Hello ", "from ", "the ", "fake ", "provider."];
        for (var i = 0; i < words.Length; i++)
        {
            if (model.Contains("cut") && i == 2)
            {
                // Half a line, then the connection drops (after a pause, so what was sent has been read).
                await Send("data: {\"id\":\"half-writ");
                await Task.Delay(200);
                context.Abort();
                return;
            }
            if (model.Contains("drip")) await Task.Delay(150);
            await Send($"data: {Chunk(Delta(new JsonObject { ["content"] = words[i] })).ToJsonString()}\n\n");
        }
        var last = Chunk(new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject(), ["finish_reason"] = "stop" }));
        await Send($"data: {last.ToJsonString()}\n\n");
        if (!model.Contains("nousage"))
        {
            var usageChunk = Chunk(new JsonArray());
            if (model.Contains("nochoices")) usageChunk.Remove("choices");
            usageChunk["usage"] = usage;
            await Send($"data: {usageChunk.ToJsonString()}\n\n");
        }
        await Send("data: [DONE]\n\n");
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
