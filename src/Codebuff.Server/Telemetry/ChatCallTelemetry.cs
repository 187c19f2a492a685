using System.Diagnostics;

namespace Codebuff.Server.Telemetry;

/// <summary>
/// One proxied chat call's span (<c>chat {model}</c>, kind CLIENT, GenAI attributes) and its timings: the provider
/// exchange (first request sent to the end of the last answer), the first streamed chunk, and the billing done inside
/// that exchange. The proxy's overhead is the request's time outside the provider exchange plus that billing time.
/// Created with the call; the span starts when the call is admitted (<see cref="Begin"/>) and ends with the request.
/// </summary>
public sealed class ChatCallTelemetry(long startedTimestamp)
{
    public const string Operation = "chat";

    Activity? _span;
    TagList _tags;
    bool _begun, _ended, _stream;
    long _providerStart, _providerEnd, _firstChunk, _billingTicks;
    string? _errorType;

    /// <summary>The chat span (null when nobody listens), for the charge span to hang under.</summary>
    public Activity? Span => _span;

    /// <summary>Starts the span once the gates have admitted the call.</summary>
    public void Begin(string requestModel, string provider, string? baseUrl, bool stream, int? maxTokens)
    {
        _begun = true;
        _stream = stream;
        _tags = new TagList
        {
            { "gen_ai.operation.name", Operation }, { "gen_ai.provider.name", provider }, { "gen_ai.request.model", requestModel },
        };
        Uri.TryCreate(baseUrl, UriKind.Absolute, out var server);
        if (server is not null) _tags.Add("server.address", server.Host);
        _span = Instruments.Source.StartActivity($"{Operation} {requestModel}", ActivityKind.Client);
        if (_span is null) return;
        foreach (var tag in _tags) _span.SetTag(tag.Key, tag.Value);
        if (server is not null) _span.SetTag("server.port", server.Port);
        if (maxTokens is { } max) _span.SetTag("gen_ai.request.max_tokens", max);
        _span.SetTag("gen_ai.request.stream", stream);
    }

    /// <summary>A request to the provider is about to go out (fan-out: the first one counts).</summary>
    public void ProviderStarted() => Interlocked.CompareExchange(ref _providerStart, Stopwatch.GetTimestamp(), 0);

    /// <summary>The provider's answer has been read to its end (fan-out: the last one counts).</summary>
    public void ProviderEnded() => Volatile.Write(ref _providerEnd, Stopwatch.GetTimestamp());

    /// <summary>The first bytes of a streamed answer arrived.</summary>
    public void FirstChunk()
    {
        if (_firstChunk != 0) return;
        _firstChunk = Stopwatch.GetTimestamp();
        _span?.AddEvent(new ActivityEvent("gen_ai.first_chunk"));
    }

    /// <summary>Billing ran inside the provider exchange for this long (the stream bills when its usage chunk passes).</summary>
    public void AddBillingTime(TimeSpan elapsed) => Interlocked.Add(ref _billingTicks, elapsed.Ticks);

    /// <summary>What the provider answered: response attributes and the token usage metric.</summary>
    public void Answered(string? responseId, string responseModel, int inputTokens, int outputTokens, int cachedInputTokens, int? reasoningTokens,
        bool estimated, IEnumerable<string> finishReasons)
    {
        _tags.Add("gen_ai.response.model", responseModel);
        if (_span is not null)
        {
            _span.SetTag("gen_ai.response.model", responseModel);
            if (!string.IsNullOrEmpty(responseId)) _span.SetTag("gen_ai.response.id", responseId);
            _span.SetTag("gen_ai.usage.input_tokens", inputTokens);
            _span.SetTag("gen_ai.usage.output_tokens", outputTokens);
            _span.SetTag("gen_ai.usage.cache_read.input_tokens", cachedInputTokens);
            if (reasoningTokens is { } reasoning) _span.SetTag("gen_ai.usage.reasoning.output_tokens", reasoning);
            var reasons = finishReasons.ToArray();
            if (reasons.Length > 0) _span.SetTag("gen_ai.response.finish_reasons", reasons);
            // [our choice] not a convention: the usage was counted by us because the provider reported none.
            if (estimated) _span.SetTag("codebuff.usage.estimated", true);
        }
        // The conventions count only reported (billable) tokens unless offline counting is asked for; ours is what we bill.
        var input = _tags;
        input.Add("gen_ai.token.type", "input");
        Instruments.TokenUsage.Record(inputTokens, input);
        var output = _tags;
        output.Add("gen_ai.token.type", "output");
        Instruments.TokenUsage.Record(outputTokens, output);
    }

    /// <summary>The call failed with this error type (an HTTP status or a short reason), as the conventions' error.type.</summary>
    public void Failed(string errorType, string? description = null)
    {
        _errorType ??= errorType;
        _span?.SetStatus(ActivityStatusCode.Error, description);
    }

    /// <summary>Ends the span and records the durations. Idempotent; a call never admitted records nothing.</summary>
    public void End(int statusCode)
    {
        if (!_begun || _ended) return;
        _ended = true;
        var now = Stopwatch.GetTimestamp();
        if (statusCode >= 400) Failed(statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var tags = _tags;
        if (_errorType is not null) tags.Add("error.type", _errorType);
        var provider = _providerStart == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_providerStart, _providerEnd == 0 ? now : _providerEnd);
        if (_providerStart != 0) Instruments.OperationDuration.Record(provider.TotalSeconds, tags);
        if (_stream && _firstChunk != 0) Instruments.TimeToFirstChunk.Record(Stopwatch.GetElapsedTime(_providerStart, _firstChunk).TotalSeconds, _tags);
        var overhead = Stopwatch.GetElapsedTime(startedTimestamp, now) - provider + TimeSpan.FromTicks(Interlocked.Read(ref _billingTicks));
        Instruments.Overhead.Record(Math.Max(0, overhead.TotalSeconds), _tags);
        if (_span is null) return;
        if (_errorType is not null) _span.SetTag("error.type", _errorType);
        _span.Dispose();
    }
}
