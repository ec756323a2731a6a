using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OrleansMQ.Storage.Diagnostics;

namespace OrleansMQ.Silo.Metrics;

/// <summary>
/// The silo's meter, "OrleansMQ", and how its instruments are aggregated for /metrics.
/// Instruments are named with their Prometheus names (<c>orleansmq_kafka_requests_total</c>) and
/// exported without OpenTelemetry's unit and <c>_total</c> suffixes, so the names scraped before
/// the move to System.Diagnostics.Metrics stay the same (docs/http.md lists them).
/// </summary>
public static class SiloMeter
{
    /// <summary>The meter's name; every component creates it through the host's <see cref="IMeterFactory"/>.</summary>
    public const string Name = "OrleansMQ";

    /// <summary>
    /// Series per tagged instrument before the exporter folds the rest into one
    /// <c>otel_metric_overflow="true"</c> series. The exporter reserves the slots up front and
    /// keeps a slot for every tag set seen since start (a deleted partition's slot is not reused),
    /// so this bounds memory; partitions and group lag are the large ones.
    /// </summary>
    public const int MaxSeriesPerPartitionMetric = 20_000;

    /// <summary>
    /// The view of one instrument: only the meter of this host (several silos can share a process,
    /// as tests do, and each exports its own figures); latency histograms keep the buckets
    /// /metrics always had (<see cref="LatencyHistogram.BoundsSeconds"/>, 50 µs to 10 s).
    /// </summary>
    internal static MetricStreamConfiguration? View(Instrument instrument, IMeterFactory hostMeters)
    {
        if (!ReferenceEquals(instrument.Meter.Scope, hostMeters))
        {
            return MetricStreamConfiguration.Drop;
        }

        if (instrument is Histogram<double>)
        {
            return new ExplicitBucketHistogramConfiguration { Boundaries = LatencyHistogram.BoundsSeconds, RecordMinMax = false };
        }

        if (instrument.Name.StartsWith("orleansmq_partition_", StringComparison.Ordinal) || instrument.Name == "orleansmq_consumer_group_lag")
        {
            return new MetricStreamConfiguration { CardinalityLimit = MaxSeriesPerPartitionMetric };
        }

        return null;
    }
}
