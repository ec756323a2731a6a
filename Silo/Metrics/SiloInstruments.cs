using System.Diagnostics.Metrics;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Metrics;

/// <summary>
/// The broker's figures as instruments of the "OrleansMQ" meter. The per-request figures stay in
/// the fast counters that already count them (<see cref="KafkaListenerMetrics"/>: an
/// <see cref="Interlocked"/> add per request, no tags to look up) and are read by observable
/// instruments only when /metrics is scraped; the engine, grain and group figures are read the same
/// way from their public state. The one value recorded per request is the Kafka request latency,
/// into a histogram (<see cref="KafkaListenerMetrics.RequestDuration"/>); the CommitLog records its
/// flush latency on the same meter itself (<see cref="OrleansMQ.Storage.StorageOptions.Meter"/>).
/// </summary>
public sealed class SiloInstruments
{

    public SiloInstruments(IMeterFactory meters, KafkaListener listener, StorageEngine engine, GrainStatistics grains, GroupLagSnapshot lag)
    {
        var meter = meters.Create(SiloMeter.Name);
        AddKafka(meter, listener.Metrics);
        AddGrains(meter, grains);
        AddStorage(meter, engine);
        AddPartitions(meter, engine, lag);
    }

    private static void AddKafka(Meter meter, KafkaListenerMetrics m)
    {
        meter.CreateObservableGauge("orleansmq_kafka_connections_open", () => m.ConnectionsOpen, description: "Open Kafka connections.");
        meter.CreateObservableCounter("orleansmq_kafka_connections_accepted_total", () => m.ConnectionsAccepted, description: "Kafka connections accepted.");
        meter.CreateObservableCounter("orleansmq_kafka_requests_total", () => m.Requests, description: "Kafka requests received.");
        meter.CreateObservableCounter("orleansmq_kafka_responses_total", () => m.Responses, description: "Kafka responses sent.");
        meter.CreateObservableCounter("orleansmq_kafka_bytes_in_total", () => m.BytesIn, "By", "Kafka request bytes received.");
        meter.CreateObservableCounter("orleansmq_kafka_bytes_out_total", () => m.BytesOut, "By", "Kafka response bytes sent.");
        meter.CreateObservableCounter("orleansmq_kafka_bytes_sendfile_total", () => m.BytesSentByFile, "By", "Kafka response bytes sent with sendfile(2).");
        meter.CreateObservableCounter("orleansmq_kafka_frame_errors_total", () => m.FrameErrors, description: "Malformed Kafka frames.");
        meter.CreateObservableCounter("orleansmq_kafka_api_requests_total", () => PerApi(m, a => a.Requests), description: "Kafka requests by API.");
        meter.CreateObservableCounter("orleansmq_kafka_api_request_bytes_total", () => PerApi(m, a => a.BytesIn), "By", "Kafka request bytes by API (Produce: the records written).");
        meter.CreateObservableCounter("orleansmq_kafka_api_response_bytes_total", () => PerApi(m, a => a.BytesOut), "By", "Kafka response bytes by API (Fetch: the records read, sendfile included).");
        m.RequestDuration = meter.CreateHistogram<double>("orleansmq_kafka_request_duration_seconds", "s", "Kafka request latency by API, from the frame read to the response written.");
    }

    private static IEnumerable<Measurement<long>> PerApi(KafkaListenerMetrics m, Func<ApiMetrics, long> value) =>
        m.ApisUsed().Select(a => new Measurement<long>(value(a.Metrics), a.Metrics.Tag));

    private static void AddGrains(Meter meter, GrainStatistics grains)
    {
        meter.CreateObservableGauge(
            "orleansmq_grain_activations",
            () => grains.Activations().Select(a => new Measurement<long>(a.Count, new KeyValuePair<string, object?>("type", a.Type))),
            description: "Grain activations in this silo's memory by grain type.");
        meter.CreateObservableCounter(
            "orleansmq_grain_calls_total",
            () => grains.Calls().Select(c => new Measurement<long>(c.Count, new KeyValuePair<string, object?>("type", c.Type))),
            description: "Grain calls received by this silo by grain type.");
    }

    private static void AddStorage(Meter meter, StorageEngine engine)
    {
        meter.CreateObservableGauge("orleansmq_commitlog_committed_position", () => engine.CommitLog.CommittedPosition, "By", "CommitLog committed position (bytes).");
        meter.CreateObservableGauge("orleansmq_commitlog_flushed_position", () => engine.CommitLog.FlushedPosition, "By", "CommitLog flushed position (bytes).");
        meter.CreateObservableGauge("orleansmq_commitlog_dispatched_position", () => engine.DispatchedPosition, "By", "CommitLog position indexed by the dispatcher (bytes).");
        meter.CreateObservableGauge("orleansmq_commitlog_segments", () => (long)engine.CommitLog.Segments.Count, description: "CommitLog segment files.");
        meter.CreateObservableGauge("orleansmq_commitlog_disk_bytes", () => engine.CommitLog.DiskBytes, "By", "CommitLog bytes on disk.");
        meter.CreateObservableGauge("orleansmq_storage_full", () => engine.IsStorageFull ? 1L : 0L, description: "1 while appends are refused for disk space.");
        meter.CreateObservableGauge("orleansmq_disk_total_bytes", () => engine.DiskTotalBytes, "By", "Size of the data folder's file system (last disk check).");
        meter.CreateObservableGauge("orleansmq_disk_available_bytes", () => engine.DiskAvailableBytes, "By", "Free space on the data folder's file system (last disk check).");

        // The blob tier's figures exist only when tiering is on: no measurement, no series.
        meter.CreateObservableGauge("orleansmq_tier_segments", () => Tier(engine, t => t.Segments.Count), description: "CommitLog segments in the blob tier.");
        meter.CreateObservableGauge("orleansmq_tier_bytes", () => Tier(engine, t => t.Segments.Sum(s => s.DataLength)), "By", "CommitLog bytes in the blob tier.");
        meter.CreateObservableCounter("orleansmq_tier_uploaded_segments_total", () => Tier(engine, t => t.UploadedSegments), description: "Segments uploaded and verified since start.");
        meter.CreateObservableCounter("orleansmq_tier_upload_failures_total", () => Tier(engine, t => t.UploadFailures), description: "Failed segment uploads (retried) since start.");
        meter.CreateObservableCounter("orleansmq_tier_cache_hits_total", () => Tier(engine, t => t.CacheHits), description: "Remote reads served from the read cache.");
        meter.CreateObservableCounter("orleansmq_tier_cache_misses_total", () => Tier(engine, t => t.CacheMisses), description: "Remote reads that fetched a block from the blob tier.");
    }

    private static IEnumerable<Measurement<long>> Tier(StorageEngine engine, Func<OrleansMQ.Storage.Tiering.TieredStorage, long> value) =>
        engine.Tier is { } tier ? [new Measurement<long>(value(tier))] : [];

    private static void AddPartitions(Meter meter, StorageEngine engine, GroupLagSnapshot lag)
    {
        meter.CreateObservableGauge(
            "orleansmq_partition_log_end_offset",
            () => engine.Partitions.Where(p => !p.IsDeleted).Select(p => new Measurement<long>(p.HighWatermark, new("topic", p.Topic), new("partition", p.Partition))),
            description: "Partition log end offset (high watermark).");
        meter.CreateObservableGauge(
            "orleansmq_partition_log_start_offset",
            () => engine.Partitions.Where(p => !p.IsDeleted).Select(p => new Measurement<long>(p.LogStartOffset, new("topic", p.Topic), new("partition", p.Partition))),
            description: "Partition log start offset.");
        meter.CreateObservableGauge(
            "orleansmq_consumer_group_lag",
            () => lag.Current.Select(l => new Measurement<long>(l.Lag, new("group", l.Group), new("topic", l.Topic), new("partition", l.Partition))),
            description: "Consumer group lag (log end offset minus committed offset).");
    }
}
