using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Silo.Cluster;

/// <summary>
/// This silo's grains for /metrics and the console: activations in memory per grain type (from
/// Orleans' own "orleans-grains" counter, read with a <see cref="MeterListener"/> scoped to this
/// host's meters) and calls received per grain type (an incoming call filter: one dictionary
/// lookup and an interlocked add per call, nothing allocated after a type's first call).
/// Chosen over mounting the Orleans Dashboard: the dashboard profiles every grain call through its
/// own filter and ships a second web UI; operators already scrape /metrics, and the numbers that
/// matter for a broker's control plane are these two.
/// </summary>
public sealed class GrainStatistics : IIncomingGrainCallFilter, IDisposable
{
    private const string OrleansMeter = "Microsoft.Orleans";
    private const string GrainCounts = "orleans-grains";

    private readonly ConcurrentDictionary<GrainType, (string Name, StrongBox<long> Count)> _calls = new();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _activations = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();

    public GrainStatistics(IMeterFactory meters)
    {
        // Several silos can share a process (tests): count only this host's Orleans meter.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrleansMeter && instrument.Name == GrainCounts && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((GrainStatistics)state!).OnGrainCount(value, tags));
        _listener.Start();
    }

    /// <summary>Activations in memory by Orleans grain type ("topic", "consumergroup", ...).</summary>
    public IReadOnlyList<(string Type, long Count)> Activations() =>
        _activations.Select(kv => (kv.Key, Volatile.Read(ref kv.Value.Value))).Where(x => x.Item2 > 0).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();

    /// <summary>Calls received since start by Orleans grain type (system targets included).</summary>
    public IReadOnlyList<(string Type, long Count)> Calls() =>
        _calls.Values.Select(v => (v.Name, Volatile.Read(ref v.Count.Value))).OrderBy(x => x.Name, StringComparer.Ordinal).ToList();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var entry = _calls.GetOrAdd(context.TargetId.Type, static t => (t.ToString() ?? "", new StrongBox<long>()));
        Interlocked.Increment(ref entry.Count.Value);
        await context.Invoke().ConfigureAwait(true);
    }

    private void OnGrainCount(int delta, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string type = "unknown";
        foreach (var tag in tags)
        {
            if (tag.Key == "grain_type" && tag.Value is string t)
            {
                type = t;
            }
        }

        var box = _activations.GetOrAdd(type, static _ => new StrongBox<long>());
        Interlocked.Add(ref box.Value, delta);
    }

    public void Dispose() => _listener.Dispose();
}
