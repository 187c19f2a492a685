using System.Diagnostics.Metrics;
using Codebuff.Server.Billing;

namespace Codebuff.Server.Telemetry;

/// <summary>
/// The operator page's figures (/admin/health), read from the same instruments the exporters read — a MeterListener
/// in this process, not a second count — so they are this instance's alone and start from zero when it starts.
/// </summary>
public sealed class HealthFigures(TimeProvider clock) : IHostedService, IDisposable
{
    const int Minutes = 60, OverheadSamples = 4096, LastRefusals = 20;
    const string NpgsqlMeter = "Npgsql";

    public sealed record Refusal(DateTime At, int Status, string Reason);
    public sealed record ProviderCalls(string Provider, long Calls, long Errors)
    {
        public double ErrorRate => Calls == 0 ? 0 : (double)Errors / Calls;
    }
    public sealed record PoolFigure(string Name, string? State, long Value);
    public sealed record Snapshot(DateTime At, IReadOnlyList<(DateTime Minute, long Calls)> CallsPerMinute, double? OverheadP50, double? OverheadP99,
        int OverheadCount, IReadOnlyList<ProviderCalls> Providers, long PendingCharges, long Committed, long Retried, long Refused, long SyncFailures,
        long CreditsBilled, long ReservationsInFlight, IReadOnlyList<Refusal> Refusals, IReadOnlyList<PoolFigure> Pool);

    readonly Lock _gate = new();
    readonly long[] _minuteCalls = new long[Minutes];
    readonly long[] _minuteKeys = new long[Minutes];
    readonly double[] _overhead = new double[OverheadSamples];
    int _overheadCount, _overheadNext;
    readonly Dictionary<string, (long Calls, long Errors)> _providers = [];
    readonly Queue<Refusal> _refusals = new();
    long _committed, _retried, _refused, _syncFailures, _credits, _reservations;
    // Observed on demand (RecordObservableInstruments), summed per snapshot.
    long _pending;
    Dictionary<(string, string?), long> _pool = [];
    MeterListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name is Instruments.Name or NpgsqlMeter || instrument.Meter == ChargeQueue.Meter) listener.EnableMeasurementEvents(instrument);
            },
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => OnMeasurement(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => OnMeasurement(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => OnMeasurement(i, v, tags));
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener?.Dispose();

    void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument.Meter.Name == NpgsqlMeter)
        {
            // The pool's gauges (connections by state, the maximum), summed over this instance's pools.
            if (!instrument.IsObservable) return;
            var state = Tag(tags, "db.client.connection.state") ?? Tag(tags, "state");
            lock (_gate) _pool[(instrument.Name, state)] = _pool.GetValueOrDefault((instrument.Name, state)) + (long)value;
            return;
        }
        lock (_gate)
        {
            switch (instrument.Name)
            {
                case "gen_ai.client.operation.duration":
                    var minute = clock.GetUtcNow().ToUnixTimeSeconds() / 60;
                    var slot = (int)(minute % Minutes);
                    if (_minuteKeys[slot] != minute) (_minuteKeys[slot], _minuteCalls[slot]) = (minute, 0);
                    _minuteCalls[slot]++;
                    var provider = Tag(tags, "gen_ai.provider.name") ?? "unknown";
                    var (calls, errors) = _providers.GetValueOrDefault(provider);
                    _providers[provider] = (calls + 1, errors + (Tag(tags, "error.type") is null ? 0 : 1));
                    break;
                case "codebuff.chat.overhead":
                    _overhead[_overheadNext] = value;
                    _overheadNext = (_overheadNext + 1) % OverheadSamples;
                    _overheadCount = Math.Min(_overheadCount + 1, OverheadSamples);
                    break;
                case "codebuff.chat.refusals":
                    _refusals.Enqueue(new Refusal(clock.GetUtcNow().UtcDateTime, Convert.ToInt32(TagObject(tags, "http.response.status_code") ?? 0,
                        System.Globalization.CultureInfo.InvariantCulture), Tag(tags, "codebuff.refusal.reason") ?? ""));
                    while (_refusals.Count > LastRefusals) _refusals.Dequeue();
                    break;
                case "codebuff.chat.reservations_in_flight": _reservations += (long)value; break;
                case "codebuff.billing.credits_billed": _credits += (long)value; break;
                case "codebuff.sync_failures": _syncFailures += (long)value; break;
                case "codebuff.billing.charges_committed": _committed += (long)value; break;
                case "codebuff.billing.write_retries": _retried += (long)value; break;
                case "codebuff.billing.charges_refused": _refused += (long)value; break;
                case "codebuff.billing.pending_charges": _pending += (long)value; break;
            }
        }
    }

    static object? TagObject(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags) if (tag.Key == key) return tag.Value;
        return null;
    }

    static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key) => TagObject(tags, key)?.ToString();

    public Snapshot Read()
    {
        lock (_gate)
        {
            _pending = 0;
            _pool = [];
            // Gauges report only when asked: their callbacks land in OnMeasurement while the lock is held by this thread.
            _listener?.RecordObservableInstruments();
            var now = clock.GetUtcNow();
            var current = now.ToUnixTimeSeconds() / 60;
            var perMinute = Enumerable.Range(0, Minutes).Select(i =>
            {
                var minute = current - (Minutes - 1) + i;
                var slot = (int)(minute % Minutes);
                return (DateTimeOffset.FromUnixTimeSeconds(minute * 60).UtcDateTime, _minuteKeys[slot] == minute ? _minuteCalls[slot] : 0);
            }).ToList();
            var samples = _overhead.Take(_overheadCount).Order().ToArray();
            return new Snapshot(now.UtcDateTime, perMinute, Percentile(samples, 0.5), Percentile(samples, 0.99), samples.Length,
                [.. _providers.OrderBy(p => p.Key).Select(p => new ProviderCalls(p.Key, p.Value.Calls, p.Value.Errors))],
                _pending, _committed, _retried, _refused, _syncFailures, _credits, _reservations, [.. _refusals.Reverse()],
                [.. _pool.OrderBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2).Select(p => new PoolFigure(p.Key.Item1, p.Key.Item2, p.Value))]);
        }
    }

    static double? Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
