using System.Globalization;
using System.Text;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Storage.Diagnostics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Http.Metrics;

/// <summary>
/// The silo's metrics in Prometheus text format 0.0.4: the Kafka listener, grains, the CommitLog
/// and tier, partitions, group lag and the gateway's own requests, read at scrape time.
/// </summary>
internal sealed class PrometheusText
{
    private readonly KafkaListener _listener;
    private readonly GrainStatistics _grains;
    private readonly StorageEngine _engine;
    private readonly GroupService _groups;
    private readonly HttpMetrics _metrics;

    public PrometheusText(KafkaListener listener, GrainStatistics grains, StorageEngine engine, GroupService groups, HttpMetrics metrics)
    {
        _listener = listener;
        _grains = grains;
        _engine = engine;
        _groups = groups;
        _metrics = metrics;
    }

    internal async Task<string> PrometheusTextAsync(CancellationToken cancellationToken)
    {
        var sb = new StringBuilder();
        var listener = _listener.Metrics;
        Metric(sb, "orleansmq_kafka_connections_open", "gauge", "Open Kafka connections.", listener.ConnectionsOpen);
        Metric(sb, "orleansmq_kafka_connections_accepted_total", "counter", "Kafka connections accepted.", listener.ConnectionsAccepted);
        Metric(sb, "orleansmq_kafka_requests_total", "counter", "Kafka requests received.", listener.Requests);
        Metric(sb, "orleansmq_kafka_responses_total", "counter", "Kafka responses sent.", listener.Responses);
        Metric(sb, "orleansmq_kafka_bytes_in_total", "counter", "Kafka request bytes received.", listener.BytesIn);
        Metric(sb, "orleansmq_kafka_bytes_out_total", "counter", "Kafka response bytes sent.", listener.BytesOut);
        Metric(sb, "orleansmq_kafka_bytes_sendfile_total", "counter", "Kafka response bytes sent with sendfile(2).", listener.BytesSentByFile);
        Metric(sb, "orleansmq_kafka_frame_errors_total", "counter", "Malformed Kafka frames.", listener.FrameErrors);
        var apis = listener.ApisUsed().Select(a => (Label: $"api=\"{ApiName(a.ApiKey)}\"", a.Metrics)).ToList();
        Samples(sb, "orleansmq_kafka_api_requests_total", "counter", "Kafka requests by API.", apis, m => m.Requests);
        Samples(sb, "orleansmq_kafka_api_request_bytes_total", "counter", "Kafka request bytes by API (Produce: the records written).", apis, m => m.BytesIn);
        Samples(sb, "orleansmq_kafka_api_response_bytes_total", "counter", "Kafka response bytes by API (Fetch: the records read, sendfile included).", apis, m => m.BytesOut);
        Header(sb, "orleansmq_kafka_request_duration_seconds", "histogram", "Kafka request latency by API, from the frame read to the response written.");
        foreach (var (label, m) in apis)
        {
            Histogram(sb, "orleansmq_kafka_request_duration_seconds", label, m.Latency);
        }

        Header(sb, "orleansmq_grain_activations", "gauge", "Grain activations in this silo's memory by grain type.");
        foreach (var (type, count) in _grains.Activations())
        {
            Sample(sb, "orleansmq_grain_activations", $"type=\"{Escape(type)}\"", count);
        }

        Header(sb, "orleansmq_grain_calls_total", "counter", "Grain calls received by this silo by grain type.");
        foreach (var (type, count) in _grains.Calls())
        {
            Sample(sb, "orleansmq_grain_calls_total", $"type=\"{Escape(type)}\"", count);
        }

        var engine = _engine;
        Metric(sb, "orleansmq_commitlog_committed_position", "gauge", "CommitLog committed position (bytes).", engine.CommitLog.CommittedPosition);
        Metric(sb, "orleansmq_commitlog_flushed_position", "gauge", "CommitLog flushed position (bytes).", engine.CommitLog.FlushedPosition);
        Metric(sb, "orleansmq_commitlog_dispatched_position", "gauge", "CommitLog position indexed by the dispatcher (bytes).", engine.DispatchedPosition);
        Metric(sb, "orleansmq_commitlog_segments", "gauge", "CommitLog segment files.", engine.CommitLog.Segments.Count);
        Metric(sb, "orleansmq_commitlog_disk_bytes", "gauge", "CommitLog bytes on disk.", engine.CommitLog.DiskBytes);
        Metric(sb, "orleansmq_storage_full", "gauge", "1 while appends are refused for disk space.", engine.IsStorageFull ? 1 : 0);
        Metric(sb, "orleansmq_disk_total_bytes", "gauge", "Size of the data folder's file system (last disk check).", engine.DiskTotalBytes);
        Metric(sb, "orleansmq_disk_available_bytes", "gauge", "Free space on the data folder's file system (last disk check).", engine.DiskAvailableBytes);
        if (engine.Tier is { } tier)
        {
            var remote = tier.Segments;
            Metric(sb, "orleansmq_tier_segments", "gauge", "CommitLog segments in the blob tier.", remote.Count);
            Metric(sb, "orleansmq_tier_bytes", "gauge", "CommitLog bytes in the blob tier.", remote.Sum(m => m.DataLength));
            Metric(sb, "orleansmq_tier_uploaded_segments_total", "counter", "Segments uploaded and verified since start.", tier.UploadedSegments);
            Metric(sb, "orleansmq_tier_upload_failures_total", "counter", "Failed segment uploads (retried) since start.", tier.UploadFailures);
            Metric(sb, "orleansmq_tier_cache_hits_total", "counter", "Remote reads served from the read cache.", tier.CacheHits);
            Metric(sb, "orleansmq_tier_cache_misses_total", "counter", "Remote reads that fetched a block from the blob tier.", tier.CacheMisses);
        }

        Header(sb, "orleansmq_commitlog_flush_duration_seconds", "histogram", "CommitLog flush (msync) latency per flush pass.");
        Histogram(sb, "orleansmq_commitlog_flush_duration_seconds", null, engine.CommitLog.FlushLatency);

        var partitions = engine.Partitions.Where(p => !p.IsDeleted).OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition).ToList();
        Header(sb, "orleansmq_partition_log_end_offset", "gauge", "Partition log end offset (high watermark).");
        foreach (var p in partitions)
        {
            Sample(sb, "orleansmq_partition_log_end_offset", $"topic=\"{Escape(p.Topic)}\",partition=\"{p.Partition}\"", p.HighWatermark);
        }

        Header(sb, "orleansmq_partition_log_start_offset", "gauge", "Partition log start offset.");
        foreach (var p in partitions)
        {
            Sample(sb, "orleansmq_partition_log_start_offset", $"topic=\"{Escape(p.Topic)}\",partition=\"{p.Partition}\"", p.LogStartOffset);
        }

        Header(sb, "orleansmq_consumer_group_lag", "gauge", "Consumer group lag (log end offset minus committed offset).");
        if (_groups.Availability == GroupError.None)
        {
            foreach (var (groupId, _, _) in _groups.List().OrderBy(g => g.GroupId, StringComparer.Ordinal))
            {
                var lag = await _groups.DescribeLagAsync(groupId, cancellationToken).ConfigureAwait(false);
                foreach (var p in lag?.Partitions ?? [])
                {
                    if (p.Lag is { } l)
                    {
                        Sample(sb, "orleansmq_consumer_group_lag", $"group=\"{Escape(groupId)}\",topic=\"{Escape(p.Topic)}\",partition=\"{p.Partition}\"", l);
                    }
                }
            }
        }

        Header(sb, "orleansmq_http_requests_total", "counter", "HTTP requests answered, by method and status.");
        foreach (var (method, status, count) in _metrics.Snapshot())
        {
            Sample(sb, "orleansmq_http_requests_total", $"method=\"{Escape(method)}\",status=\"{status}\"", count);
        }

        Header(sb, "orleansmq_http_request_duration_seconds", "histogram", "HTTP request latency by method.");
        foreach (var (method, latency) in _metrics.LatencyByMethod())
        {
            Histogram(sb, "orleansmq_http_request_duration_seconds", $"method=\"{Escape(method)}\"", latency);
        }

        return sb.ToString();
    }

    private static void Metric(StringBuilder sb, string name, string type, string help, long value)
    {
        Header(sb, name, type, help);
        sb.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static void Samples<T>(StringBuilder sb, string name, string type, string help, List<(string Label, T Item)> items, Func<T, long> value)
    {
        Header(sb, name, type, help);
        foreach (var (label, item) in items)
        {
            Sample(sb, name, label, value(item));
        }
    }

    private static string ApiName(short apiKey) => Enum.IsDefined((ApiKey)apiKey) ? ((ApiKey)apiKey).ToString() : apiKey.ToString(CultureInfo.InvariantCulture);

    private static void Histogram(StringBuilder sb, string name, string? labels, LatencyHistogram histogram)
    {
        string prefix = labels is null ? "" : labels + ",";
        var cumulative = histogram.CumulativeCounts();
        for (int i = 0; i < LatencyHistogram.BoundsSeconds.Length; i++)
        {
            Sample(sb, name + "_bucket", prefix + "le=\"" + LatencyHistogram.BoundsSeconds[i].ToString("0.#####", CultureInfo.InvariantCulture) + "\"", cumulative[i]);
        }

        Sample(sb, name + "_bucket", prefix + "le=\"+Inf\"", cumulative[^1]);
        sb.Append(name).Append("_sum");
        if (labels is not null)
        {
            sb.Append('{').Append(labels).Append('}');
        }

        sb.Append(' ').Append(histogram.SumSeconds.ToString("0.#########", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(name).Append("_count");
        if (labels is not null)
        {
            sb.Append('{').Append(labels).Append('}');
        }

        sb.Append(' ').Append(cumulative[^1].ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static void Header(StringBuilder sb, string name, string type, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder sb, string name, string labels, long value) =>
        sb.Append(name).Append('{').Append(labels).Append("} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static string Escape(string label) => label.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
