using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Produce;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Diagnostics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// The HTTP endpoints: health and readiness, Prometheus metrics, REST Proxy v2 produce and topic
/// metadata, and the OrleansMQ browse API (offsets, messages by offset, key and time, group lag).
/// Every error is an RFC 9457 problem document (<c>application/problem+json</c>); the REST Proxy
/// paths add its <c>error_code</c>.
/// </summary>
internal sealed partial class HttpGateway
{
    internal const string JsonV2 = "application/vnd.kafka.json.v2+json";
    internal const string BinaryV2 = "application/vnd.kafka.binary.v2+json";
    internal const string V2 = "application/vnd.kafka.v2+json";
    private const int MaxBrowseRecords = 10_000;

    private readonly StorageEngine _engine;
    private readonly TopicService _topics;
    private readonly OrleansMQ.Silo.Topics.TopicCatalog _catalog;
    private readonly OrleansMQ.Silo.Cluster.GrainStatistics _grains;
    private readonly GroupService _groups;
    private readonly BrokerIdentity _identity;
    private readonly KafkaListener _listener;
    private readonly TimeProvider _time;
    private readonly ProduceService _produce;
    private readonly HttpSettings _settings;
    private readonly HttpMetrics _metrics;
    private readonly ILogger _logger;

    public HttpGateway(StorageEngine engine, TopicService topics, OrleansMQ.Silo.Topics.TopicCatalog catalog, OrleansMQ.Silo.Cluster.GrainStatistics grains, GroupService groups, BrokerIdentity identity, KafkaListener listener, TimeProvider time, ProduceService produce, HttpSettings settings, HttpMetrics metrics, ILogger<HttpGateway> logger)
    {
        _grains = grains;
        _catalog = catalog;
        _engine = engine;
        _topics = topics;
        _groups = groups;
        _identity = identity;
        _listener = listener;
        _time = time;
        _produce = produce;
        _settings = settings;
        _metrics = metrics;
        _logger = logger;
    }

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));
        app.MapGet("/readyz", Ready);
        app.MapGet(HttpOpenApi.Path, () => Results.Text(HttpOpenApi.Text, "application/json", Encoding.UTF8));
        app.MapGet("/metrics", async (CancellationToken ct) => Results.Text(await PrometheusTextAsync(ct).ConfigureAwait(false), "text/plain; version=0.0.4; charset=utf-8"));

        app.MapGet("/topics", ListTopics);
        app.MapGet("/topics/{topic}", GetTopicAsync);
        app.MapPost("/topics/{topic}", (HttpContext c, string topic) => ProduceAsync(c, topic, null));
        app.MapGet("/topics/{topic}/partitions", GetPartitionsAsync);
        app.MapGet("/topics/{topic}/partitions/{partition:int}", GetPartitionAsync);
        app.MapPost("/topics/{topic}/partitions/{partition:int}", (HttpContext c, string topic, int partition) => ProduceAsync(c, topic, partition));
        app.MapGet("/brokers", () => JsonResult(new JsonObject { ["brokers"] = new JsonArray(_identity.NodeId) }, V2));

        app.MapGet("/orleansmq/v1/topics/{topic}/partitions/{partition:int}/offsets", OffsetsAsync);
        app.MapGet("/orleansmq/v1/topics/{topic}/partitions/{partition:int}/messages", MessagesByOffsetAsync);
        app.MapGet("/orleansmq/v1/topics/{topic}/messages", MessagesByKeyOrTimeAsync);
        app.MapGet("/orleansmq/v1/groups", ListGroups);
        app.MapGet("/orleansmq/v1/groups/{group}/lag", GroupLagAsync);

        // The other parts of the gateway map their routes from their own files (HttpGateway.*.cs).
        MapConsumerInstances(app);
        MapV3(app);
        MapConsole(app);
    }

    partial void MapConsumerInstances(IEndpointRouteBuilder app);

    partial void MapV3(IEndpointRouteBuilder app);

    partial void MapConsole(IEndpointRouteBuilder app);

    // ---- health, readiness, metrics ----

    private IResult Ready()
    {
        string? reason = null;
        try
        {
            var availability = _groups.Availability;
            if (availability != GroupError.None)
            {
                reason = "group coordinator loading (" + availability + ")";
            }
        }
        catch (InvalidOperationException ex)
        {
            reason = ex.Message;
        }

        return reason is null ? Results.Text("ready\n", "text/plain") : Results.Text("not ready: " + reason + "\n", "text/plain", statusCode: 503);
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

    // ---- REST Proxy v2: topics ----

    private IResult ListTopics()
    {
        var names = new JsonArray();
        foreach (var t in _catalog.All.Where(t => !t.IsInternal))
        {
            names.Add(t.Name);
        }

        return JsonResult(names, V2);
    }

    private async Task<IResult> GetTopicAsync(string topic, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
        }

        var configs = new JsonObject();
        foreach (var (k, v) in TopicConfig.Defaults.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            configs[k] = meta.Config.Get(k);
        }

        var partitions = new JsonArray();
        foreach (var p in meta.Partitions)
        {
            partitions.Add(PartitionV2Json(p.Partition));
        }

        return JsonResult(new JsonObject { ["name"] = meta.Name, ["configs"] = configs, ["partitions"] = partitions }, V2);
    }

    /// <summary>REST Proxy v2's partition shape: this silo leads every partition, one in-sync replica.</summary>
    private JsonObject PartitionV2Json(int partition) => new()
    {
        ["partition"] = partition,
        ["leader"] = _identity.NodeId,
        ["replicas"] = new JsonArray(new JsonObject { ["broker"] = _identity.NodeId, ["leader"] = true, ["in_sync"] = true }),
    };

    private async Task<IResult> GetPartitionsAsync(string topic, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
        }

        var partitions = new JsonArray();
        foreach (var p in meta.Partitions)
        {
            partitions.Add(PartitionV2Json(p.Partition));
        }

        return JsonResult(partitions, V2);
    }

    private async Task<IResult> GetPartitionAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
        }

        return partition < 0 || partition >= meta.Partitions.Length
            ? RestProblem(404, 40402, "Partition not found", $"Partition {partition} of topic '{topic}' not found.")
            : JsonResult(PartitionV2Json(partition), V2);
    }

    // ---- REST Proxy v2: produce ----

    private async Task<IResult> ProduceAsync(HttpContext context, string topic, int? pathPartition)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        string mediaType = MediaType(request);
        bool binary;
        if (mediaType == BinaryV2)
        {
            binary = true;
        }
        else if (mediaType == JsonV2)
        {
            binary = false;
        }
        else
        {
            return RestProblem(415, 415, "Unsupported Media Type", $"Content type '{request.ContentType}' is not supported; use {JsonV2} or {BinaryV2}.");
        }

        if (request.ContentLength > _settings.MaxRequestBodyBytes)
        {
            return RestProblem(413, 413, "Payload Too Large", $"The body is {request.ContentLength} bytes; the limit is {_settings.MaxRequestBodyBytes}.");
        }

        var (document, status, detail) = await ParseJsonBodyAsync(context).ConfigureAwait(false);
        if (document is null)
        {
            return RestProblem(status, status, status == 413 ? "Payload Too Large" : "Bad Request", detail!);
        }

        using (document)
        {
            var (meta, topicError) = await _produce.TopicAsync(topic, cancellationToken).ConfigureAwait(false);
            if (meta is null)
            {
                return topicError == TopicError.InvalidTopic
                    ? RestProblem(422, 42202, "Unprocessable Entity", $"'{topic}' is not a valid topic name: {TopicNames.Validate(topic)}")
                    : RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
            }

            if (pathPartition is { } pp && (pp < 0 || pp >= meta.Partitions.Length))
            {
                return RestProblem(404, 40402, "Partition not found", $"Partition {pp} of topic '{topic}' not found.");
            }

            // Validate everything first: nothing is appended unless every record is good. Payload
            // bytes are decoded into one pooled arena per request (its JSON text bounds their size),
            // not an array per record.
            byte[] arena = ArrayPool<byte>.Shared.Rent(Math.Max(16, JsonMarshal.GetRawUtf8Value(document.RootElement).Length));
            try
            {
                var (records, error) = ParseRecords(document.RootElement, binary, meta, pathPartition, arena);
                if (error is not null)
                {
                    return error;
                }

                var offsets = await _produce.ProduceRecordsAsync(meta, records!, cancellationToken).ConfigureAwait(false);
                await WriteProduceResponseAsync(context.Response, offsets, cancellationToken).ConfigureAwait(false);
                return Results.Empty;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(arena);
            }
        }
    }

    /// <summary>REST Proxy's produce answer, written straight to the response pipe (no JSON DOM per record).</summary>
    private static async Task WriteProduceResponseAsync(HttpResponse response, ProducedRecord[] offsets, CancellationToken cancellationToken)
    {
        response.StatusCode = 200;
        response.ContentType = V2;
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteNull("key_schema_id");
            json.WriteNull("value_schema_id");
            json.WriteStartArray("offsets");
            foreach (var o in offsets)
            {
                json.WriteStartObject();
                json.WriteNumber("partition", o.Partition);
                if (o.Error == ErrorCode.None)
                {
                    json.WriteNumber("offset", o.Offset);
                    json.WriteNull("error_code");
                    json.WriteNull("error");
                }
                else
                {
                    // REST Proxy's code for a failed produce (a Kafka error behind it).
                    json.WriteNull("offset");
                    json.WriteNumber("error_code", 50003);
                    json.WriteString("error", o.Message);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private (List<PendingRecord>? Records, IResult? Error) ParseRecords(JsonElement root, bool binary, TopicMetadata meta, int? pathPartition, byte[] arena)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var recordsElement) || recordsElement.ValueKind != JsonValueKind.Array)
        {
            return (null, RestProblem(422, 42201, "Unprocessable Entity", "The body must be an object with a \"records\" array."));
        }

        if (recordsElement.GetArrayLength() == 0)
        {
            return (null, RestProblem(422, 42201, "Unprocessable Entity", "\"records\" is empty."));
        }

        var records = new List<PendingRecord>(recordsElement.GetArrayLength());
        int index = 0;
        int used = 0;
        foreach (var r in recordsElement.EnumerateArray())
        {
            if (r.ValueKind != JsonValueKind.Object)
            {
                return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}] is not an object."));
            }

            ReadOnlyMemory<byte>? key = null, value = null;
            if (r.TryGetProperty("key", out var k) && !TryPayload(k, binary, arena, ref used, out key))
            {
                return (null, RestProblem(422, 42205, "Unprocessable Entity", $"records[{index}].key is not valid base64."));
            }

            if (r.TryGetProperty("value", out var v) && !TryPayload(v, binary, arena, ref used, out value))
            {
                return (null, RestProblem(422, 42205, "Unprocessable Entity", $"records[{index}].value is not valid base64."));
            }

            if (key is null && value is null)
            {
                return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}] has neither key nor value."));
            }

            int partition;
            if (r.TryGetProperty("partition", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                if (p.ValueKind != JsonValueKind.Number || !p.TryGetInt32(out partition))
                {
                    return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}].partition is not an integer."));
                }

                if (partition < 0 || partition >= meta.Partitions.Length || (pathPartition is { } fixedPartition && fixedPartition != partition))
                {
                    return (null, RestProblem(404, 40402, "Partition not found", $"records[{index}]: partition {partition} of topic '{meta.Name}' not found."));
                }
            }
            else if (pathPartition is { } fixedPartition)
            {
                partition = fixedPartition;
            }
            else
            {
                partition = _produce.ChoosePartition(key is { } keyBytes ? keyBytes.Span : default, key is not null, meta.Partitions.Length);
            }

            if ((key?.Length ?? 0) + (value?.Length ?? 0) > meta.Config.MaxMessageBytes)
            {
                return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}] is larger than the topic's max.message.bytes ({meta.Config.MaxMessageBytes})."));
            }

            records.Add(new PendingRecord(partition, key, value));
            index++;
        }

        return (records, null);
    }

    /// <summary>
    /// Binary: base64 text or null. JSON: the element's JSON text as UTF-8 (null stays null). The
    /// bytes go to <paramref name="arena"/> at <paramref name="used"/>; the arena is at least as
    /// long as the whole JSON text, which no decoded payload set can outgrow.
    /// </summary>
    private static bool TryPayload(JsonElement element, bool binary, byte[] arena, ref int used, out ReadOnlyMemory<byte>? bytes)
    {
        bytes = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        var raw = JsonMarshal.GetRawUtf8Value(element);
        if (!binary)
        {
            raw.CopyTo(arena.AsSpan(used));
            bytes = arena.AsMemory(used, raw.Length);
            used += raw.Length;
            return true;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        // The raw value is the quoted string, decoded in place. Base64 never needs escapes, but a
        // client may write "\/" for "/" or wrap lines; such text takes the slower unescaping path.
        var text = raw[1..^1];
        if (text.IndexOf((byte)'\\') < 0 && Base64.DecodeFromUtf8(text, arena.AsSpan(used), out _, out int written) == OperationStatus.Done)
        {
            bytes = arena.AsMemory(used, written);
            used += written;
            return true;
        }

        if (!Convert.TryFromBase64String(element.GetString()!, arena.AsSpan(used), out int decoded))
        {
            return false;
        }

        bytes = arena.AsMemory(used, decoded);
        used += decoded;
        return true;
    }

    // ---- OrleansMQ browse API ----

    private async Task<(PartitionLog? Log, IResult? Error)> PartitionAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return (null, Problem(404, "Topic not found", $"Topic '{topic}' not found."));
        }

        if (partition < 0 || partition >= meta.Partitions.Length)
        {
            return (null, Problem(404, "Partition not found", $"Partition {partition} of topic '{topic}' not found."));
        }

        return (meta.Partitions[partition], null);
    }

    private async Task<IResult> OffsetsAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var (log, error) = await PartitionAsync(topic, partition, cancellationToken).ConfigureAwait(false);
        if (log is null)
        {
            return error!;
        }

        return JsonResult(new JsonObject
        {
            ["topic"] = topic,
            ["partition"] = partition,
            ["log_start_offset"] = log.LogStartOffset,
            ["high_watermark"] = log.HighWatermark,
        });
    }

    private async Task<IResult> MessagesByOffsetAsync(string topic, int partition, HttpContext context)
    {
        var (log, error) = await PartitionAsync(topic, partition, context.RequestAborted).ConfigureAwait(false);
        if (log is null)
        {
            return error!;
        }

        var query = context.Request.Query;
        if (!TryLong(query["offset"], log.LogStartOffset, out long offset) || !TryLong(query["count"], 100, out long count) || count < 1 || count > MaxBrowseRecords)
        {
            return Problem(400, "Bad Request", $"offset must be an integer and count 1-{MaxBrowseRecords}.");
        }

        if (offset < log.LogStartOffset || offset > log.HighWatermark)
        {
            return Problem(416, "Offset out of range", $"offset {offset} is outside [{log.LogStartOffset}, {log.HighWatermark}].");
        }

        var records = new JsonArray();
        ReadRange(log, offset, long.MaxValue, long.MaxValue, (int)count, records);
        return JsonResult(new JsonObject { ["topic"] = topic, ["partition"] = partition, ["records"] = records });
    }

    private async Task<IResult> MessagesByKeyOrTimeAsync(string topic, HttpContext context)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, context.RequestAborted).ConfigureAwait(false);
        if (meta is null)
        {
            return Problem(404, "Topic not found", $"Topic '{topic}' not found.");
        }

        var query = context.Request.Query;
        if (!TryTime(query["from"], long.MinValue, out long from) || !TryTime(query["to"], long.MaxValue, out long to))
        {
            return Problem(400, "Bad Request", "from and to must be ISO 8601 date-times (e.g. 2026-01-02T03:04:05Z) or Unix milliseconds.");
        }

        if (!TryLong(query["limit"], 100, out long limit) || limit < 1 || limit > MaxBrowseRecords)
        {
            return Problem(400, "Bad Request", $"limit must be 1-{MaxBrowseRecords}.");
        }

        var records = new JsonArray();
        if (query.TryGetValue("key", out var keyValues))
        {
            byte[] key = Encoding.UTF8.GetBytes(keyValues.ToString());
            if (!meta.Config.IndexKeys)
            {
                return Problem(409, "Keys not indexed", $"Topic '{topic}' does not index keys; set {TopicConfig.IndexKeysName}=true.");
            }

            var hits = new List<(int Partition, KeyLookupHit Hit)>();
            foreach (var log in meta.Partitions)
            {
                foreach (var hit in _engine.LookupByKey(log, key, Math.Max(0, from), to, (int)limit))
                {
                    hits.Add((log.Partition, hit));
                }
            }

            foreach (var (partition, hit) in hits.OrderByDescending(h => h.Hit.Timestamp).Take((int)limit))
            {
                var record = new JsonObject { ["partition"] = partition, ["offset"] = hit.Offset, ["timestamp"] = hit.Timestamp, ["key"] = Convert.ToBase64String(key), ["key_text"] = keyValues.ToString() };
                AddPayload(record, "value", hit.Value);
                records.Add(record);
            }

            return JsonResult(new JsonObject { ["topic"] = topic, ["records"] = records });
        }

        if (!query.ContainsKey("from") && !query.ContainsKey("to"))
        {
            return Problem(400, "Bad Request", "Give key=K, or from=ISO and/or to=ISO.");
        }

        foreach (var log in meta.Partitions)
        {
            if (records.Count >= limit)
            {
                break;
            }

            if (_engine.FindOffsetByTimestamp(log, from == long.MinValue ? 0 : from) is { } start)
            {
                ReadRange(log, start.Offset, from, to, (int)limit - records.Count, records);
            }
        }

        return JsonResult(new JsonObject { ["topic"] = topic, ["records"] = records });
    }

    /// <summary>Reads records from <paramref name="offset"/> on, keeping those with timestamps in [from, to] (from = MaxValue: no time filter).</summary>
    private void ReadRange(PartitionLog log, long offset, long from, long to, int max, JsonArray output)
    {
        bool timeFilter = from != long.MaxValue;
        int taken = 0;
        while (taken < max && offset < log.HighWatermark)
        {
            var buffer = new ArrayBufferWriter<byte>();
            _engine.Read(log, offset, 1 << 20, buffer, out var status);
            if (status != ReadStatus.Ok || buffer.WrittenCount == 0)
            {
                return;
            }

            var data = buffer.WrittenSpan;
            long next = offset;
            while (data.Length >= RecordBatch.HeaderSize && taken < max)
            {
                if (RecordBatch.TryReadInfo(data, out var info) != BatchError.None || info.TotalLength > data.Length)
                {
                    return;
                }

                var batch = data[..info.TotalLength];
                data = data[info.TotalLength..];
                next = info.LastOffset + 1;
                if (!RecordBatchRecords.TryGetRecords(batch, info, out var section))
                {
                    continue;
                }

                using (section)
                {
                    var reader = new RecordReader(section.Span, info.RecordCount);
                    while (taken < max && reader.TryReadNext(out var record))
                    {
                        long recordOffset = info.BaseOffset + record.OffsetDelta;
                        long ts = info.IsLogAppendTime ? info.MaxTimestamp : info.FirstTimestamp + record.TimestampDelta;
                        if (recordOffset < offset)
                        {
                            continue;
                        }

                        if (timeFilter && (ts < from || ts > to))
                        {
                            if (ts > to)
                            {
                                return; // timestamps are mostly ordered; stop at the first past the range
                            }

                            continue;
                        }

                        output.Add(RecordJson(log.Partition, recordOffset, ts, record));
                        taken++;
                    }
                }
            }

            if (next <= offset)
            {
                return;
            }

            offset = next;
        }
    }

    private static JsonObject RecordJson(int partition, long offset, long timestamp, RecordView record)
    {
        var json = new JsonObject { ["partition"] = partition, ["offset"] = offset, ["timestamp"] = timestamp };
        AddPayload(json, "key", record.KeyIsNull ? null : record.Key.ToArray());
        AddPayload(json, "value", record.ValueIsNull ? null : record.Value.ToArray());
        var headers = new JsonArray();
        var reader = record.GetHeaders();
        while (reader.TryReadNext(out var h))
        {
            var header = new JsonObject { ["key"] = Encoding.UTF8.GetString(h.Key) };
            AddPayload(header, "value", h.ValueIsNull ? null : h.Value.ToArray());
            headers.Add(header);
        }

        json["headers"] = headers;
        return json;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary><c>name</c> as base64 and <c>name_text</c> as UTF-8 text when it decodes.</summary>
    private static void AddPayload(JsonObject json, string name, byte[]? bytes)
    {
        json[name] = bytes is null ? null : Convert.ToBase64String(bytes);
        string? text = null;
        if (bytes is not null)
        {
            try
            {
                text = StrictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
            }
        }

        json[name + "_text"] = text;
    }

    private IResult ListGroups()
    {
        if (_groups.Availability != GroupError.None)
        {
            return Problem(503, "Group coordinator loading", "The group coordinator is still loading; retry.");
        }

        var groups = new JsonArray();
        foreach (var (id, state, protocolType) in _groups.List().OrderBy(g => g.GroupId, StringComparer.Ordinal))
        {
            groups.Add(new JsonObject { ["group_id"] = id, ["state"] = state.ToString(), ["protocol_type"] = protocolType });
        }

        return JsonResult(groups);
    }

    private async Task<IResult> GroupLagAsync(string group, CancellationToken cancellationToken)
    {
        if (_groups.Availability != GroupError.None)
        {
            return Problem(503, "Group coordinator loading", "The group coordinator is still loading; retry.");
        }

        var lag = await _groups.DescribeLagAsync(group, cancellationToken).ConfigureAwait(false);
        if (lag is null)
        {
            return Problem(404, "Group not found", $"Group '{group}' not found.");
        }

        var partitions = new JsonArray();
        foreach (var p in lag.Partitions)
        {
            partitions.Add(new JsonObject
            {
                ["topic"] = p.Topic,
                ["partition"] = p.Partition,
                ["committed_offset"] = p.CommittedOffset,
                ["log_end_offset"] = p.LogEndOffset,
                ["lag"] = p.Lag,
                ["member_id"] = p.MemberId,
                ["client_id"] = p.ClientId,
            });
        }

        return JsonResult(new JsonObject { ["group_id"] = lag.GroupId, ["state"] = lag.State.ToString(), ["total_lag"] = lag.TotalLag, ["partitions"] = partitions });
    }

    // ---- helpers ----

    private static bool TryLong(Microsoft.Extensions.Primitives.StringValues values, long fallback, out long value)
    {
        if (values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            value = fallback;
            return true;
        }

        return long.TryParse(values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryTime(Microsoft.Extensions.Primitives.StringValues values, long fallback, out long ms)
    {
        ms = fallback;
        if (values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return true;
        }

        string text = values[0]!;
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out ms))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
        {
            ms = t.ToUnixTimeMilliseconds();
            return true;
        }

        return false;
    }

    private static IResult JsonResult(JsonNode node, string contentType = "application/json") =>
        Results.Text(node.ToJsonString(), contentType, Encoding.UTF8);

    /// <summary>The request's media type, lower case, without parameters ("" when none).</summary>
    private static string MediaType(HttpRequest request) => (request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();

    /// <summary>
    /// The body parsed as one JSON document (the caller disposes it), or why not: 400 with the
    /// parser's message, or 413 when Kestrel's <see cref="HttpSettings.MaxRequestBodyBytes"/> cut it.
    /// Each API wraps the status in its own problem flavour.
    /// </summary>
    private async Task<(JsonDocument? Document, int Status, string? Detail)> ParseJsonBodyAsync(HttpContext context)
    {
        try
        {
            return (await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false), 200, null);
        }
        catch (JsonException ex)
        {
            return (null, 400, "The body is not valid JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, 413, $"The body exceeds {_settings.MaxRequestBodyBytes} bytes.");
        }
    }

    internal static IResult Problem(int status, string title, string detail, int? errorCode = null)
    {
        var body = new JsonObject
        {
            ["type"] = "about:blank",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
        };
        if (errorCode is { } code)
        {
            body["error_code"] = code;
            body["message"] = detail;
        }

        return Results.Text(body.ToJsonString(), "application/problem+json", Encoding.UTF8, status);
    }

    private static IResult RestProblem(int status, int errorCode, string title, string detail) => Problem(status, title, detail, errorCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP produce to {Topic}-{Partition} failed: {Reason}")]
    private static partial void LogAppendFailed(ILogger logger, string topic, int partition, string reason);
}
