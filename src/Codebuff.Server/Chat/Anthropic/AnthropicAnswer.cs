using System.Net;
using System.Net.Http.Headers;
using System.Text;
using static Codebuff.Server.Chat.ProviderJson;

namespace Codebuff.Server.Chat.Anthropic;

/// <summary>
/// A successful Messages API response body read as OpenAI's: a message becomes a chat.completion, an event stream a
/// stream of chat.completion.chunk events. Wrapping the body keeps the proxy and the relay unaware of the provider.
/// </summary>
sealed class AnthropicAnswer : HttpContent
{
    /// <summary>The anthropic-version header sent with every request.</summary>
    public const string ApiVersion = "2023-06-01";

    readonly HttpContent _inner;
    readonly string _model;
    readonly bool _stream;
    readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public AnthropicAnswer(HttpContent inner, string requestedModel, bool stream)
    {
        (_inner, _model, _stream) = (inner, requestedModel, stream);
        Headers.ContentType = new MediaTypeHeaderValue(stream ? "text/event-stream" : "application/json") { CharSet = "utf-8" };
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
    {
        var body = await _inner.ReadAsStreamAsync(cancellationToken);
        if (_stream) return new AnthropicEventStream(body, new AnthropicStreamTranslator(_model, _created));
        using var reader = new StreamReader(body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        // Not a message: passed on as it came, so the proxy reports what it got.
        var translated = Parse(text) is JsonObject message && Str(message["type"]) == "message"
            ? AnthropicResponse.ToCompletion(message, _model, _created).ToJsonString(Compact) : text;
        return new MemoryStream(Encoding.UTF8.GetBytes(translated));
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var content = await CreateContentReadStreamAsync(cancellationToken);
        await content.CopyToAsync(stream, cancellationToken);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
