using OrleansMQ.Storage.Diagnostics;

namespace OrleansMQ.Silo.Http.Metrics;

/// <summary>HTTP request counts by method and status, and latency by method, for /metrics.</summary>
public sealed class HttpMetrics
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Method, int Status), long> _counts = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LatencyHistogram> _latency = new(StringComparer.Ordinal);

    public void Count(string method, int status, long startTimestamp)
    {
        _counts.AddOrUpdate((method, status), 1, (_, n) => n + 1);
        _latency.GetOrAdd(method, _ => new LatencyHistogram()).RecordSince(startTimestamp);
    }

    /// <summary>Latency histograms by HTTP method, ordered by method.</summary>
    public IReadOnlyList<(string Method, LatencyHistogram Latency)> LatencyByMethod() =>
        _latency.Select(kv => (kv.Key, kv.Value)).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();

    public IReadOnlyList<(string Method, int Status, long Count)> Snapshot() =>
        _counts.Select(kv => (kv.Key.Method, kv.Key.Status, kv.Value)).OrderBy(x => x.Method, StringComparer.Ordinal).ThenBy(x => x.Status).ToList();
}
