using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansMQ.Silo.Metrics;

/// <summary>
/// HTTP requests answered, by method and status (an <see cref="ObservableCounter{T}"/> over our
/// own counts, which the console's stats also sum), and their latency by method (a histogram).
/// </summary>
public sealed class HttpMetrics
{
    private readonly ConcurrentDictionary<(string Method, int Status), long> _counts = new();
    private readonly Histogram<double> _duration;

    public HttpMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(SiloMeter.Name);
        meter.CreateObservableCounter(
            "orleansmq_http_requests_total",
            () => _counts.Select(kv => new Measurement<long>(kv.Value, new("method", kv.Key.Method), new("status", kv.Key.Status))),
            description: "HTTP requests answered, by method and status.");
        _duration = meter.CreateHistogram<double>("orleansmq_http_request_duration_seconds", "s", "HTTP request latency by method.");
    }

    /// <summary>One request answered with <paramref name="status"/>, started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void Count(string method, int status, long startTimestamp)
    {
        _counts.AddOrUpdate((method, status), 1, static (_, n) => n + 1);
        _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("method", method));
    }

    /// <summary>Requests answered by method and status, ordered by method then status.</summary>
    public IReadOnlyList<(string Method, int Status, long Count)> Snapshot() =>
        _counts.Select(kv => (kv.Key.Method, kv.Key.Status, kv.Value)).OrderBy(x => x.Method, StringComparer.Ordinal).ThenBy(x => x.Status).ToList();
}
