using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Http.OpenApi;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Silo.Http.GatewayResults;

namespace OrleansMQ.Silo.Http.Browse;

/// <summary>
/// The OrleansMQ browse API (<c>/orleansmq/v1/...</c>): a partition's offsets, records from an
/// offset, records by key (the key index) or time range across partitions, consumer groups and
/// their lag. Reads go to the storage engine directly; nothing here writes.
/// </summary>
internal sealed class BrowseEndpoints
{
    internal const string Tag = "Browse";
    private const int MaxBrowseRecords = 10_000;

    private readonly StorageEngine _engine;
    private readonly TopicService _topics;
    private readonly GroupService _groups;

    public BrowseEndpoints(StorageEngine engine, TopicService topics, GroupService groups)
    {
        _engine = engine;
        _topics = topics;
        _groups = groups;
    }

    public void Map(IEndpointRouteBuilder app)
    {
        var browse = app.MapGroup("/orleansmq/v1").WithTags(Tag);
        browse.MapGet("/topics/{topic}/partitions/{partition:int}/offsets", OffsetsAsync)
            .WithName("PartitionOffsets").WithSummary("Log start offset and high watermark of a partition.")
            .Produces<PartitionOffsets>(200).ProducesProblem(404);
        browse.MapGet("/topics/{topic}/partitions/{partition:int}/messages", MessagesByOffsetAsync)
            .WithName("MessagesByOffset").WithSummary("Records from an offset.")
            .DocumentQuery("offset", isInteger: true, "First offset (default log start).")
            .DocumentQuery("count", isInteger: true, "At most this many records, 1-10000 (default 100).")
            .Produces<PartitionRecords>(200).ProducesProblem(400).ProducesProblem(404).ProducesProblem(416);
        browse.MapGet("/topics/{topic}/messages", MessagesByKeyOrTimeAsync)
            .WithName("MessagesByKeyOrTime").WithSummary("Records by key (key index) or by time range, across partitions.")
            .DocumentQuery("key", isInteger: false, "UTF-8 key; needs orleansmq.index.keys=true.")
            .DocumentQuery("from", isInteger: false, "ISO 8601 date-time or Unix milliseconds.")
            .DocumentQuery("to", isInteger: false, "ISO 8601 date-time or Unix milliseconds.")
            .DocumentQuery("limit", isInteger: true, "At most this many records, 1-10000 (default 100).")
            .Produces<TopicRecords>(200).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
        browse.MapGet("/groups", ListGroups)
            .WithName("ListGroups").WithSummary("Consumer groups.")
            .Produces<List<GroupSummary>>(200).ProducesProblem(503);
        browse.MapGet("/groups/{group}/lag", GroupLagAsync)
            .WithName("GroupLag").WithSummary("Lag of a consumer group per partition.")
            .Produces<GroupLagView>(200).ProducesProblem(404).ProducesProblem(503);
    }

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

        return Results.Json(new PartitionOffsets(topic, partition, log.LogStartOffset, log.HighWatermark), BrowseJsonContext.Default.PartitionOffsets);
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

        var records = new List<BrowsedRecord>();
        ReadRange(log, offset, long.MaxValue, long.MaxValue, (int)count, records);
        return Results.Json(new PartitionRecords(topic, partition, records), BrowseJsonContext.Default.PartitionRecords);
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

        var records = new List<BrowsedRecord>();
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
                var (value, valueText) = Payload(hit.Value);
                records.Add(new BrowsedRecord(partition, hit.Offset, hit.Timestamp, Convert.ToBase64String(key), keyValues.ToString(), value, valueText, null));
            }

            return Results.Json(new TopicRecords(topic, records), BrowseJsonContext.Default.TopicRecords);
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

        return Results.Json(new TopicRecords(topic, records), BrowseJsonContext.Default.TopicRecords);
    }

    /// <summary>Reads records from <paramref name="offset"/> on, keeping those with timestamps in [from, to] (from = MaxValue: no time filter).</summary>
    private void ReadRange(PartitionLog log, long offset, long from, long to, int max, List<BrowsedRecord> output)
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
                try
                {
                    using var section = RecordBatchRecords.GetRecords(batch, info);
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
                catch (InvalidDataException)
                {
                    continue; // records that do not decode (a corrupt compressed batch): browse shows the batches around it
                }
            }

            if (next <= offset)
            {
                return;
            }

            offset = next;
        }
    }

    private static BrowsedRecord RecordJson(int partition, long offset, long timestamp, RecordView record)
    {
        var (key, keyText) = Payload(record.KeyIsNull ? null : record.Key.ToArray());
        var (value, valueText) = Payload(record.ValueIsNull ? null : record.Value.ToArray());
        var headers = new List<BrowsedHeader>();
        var reader = record.GetHeaders();
        while (reader.TryReadNext(out var h))
        {
            var (headerValue, headerText) = Payload(h.ValueIsNull ? null : h.Value.ToArray());
            headers.Add(new BrowsedHeader(Encoding.UTF8.GetString(h.Key), headerValue, headerText));
        }

        return new BrowsedRecord(partition, offset, timestamp, key, keyText, value, valueText, headers);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>The bytes as base64 and as UTF-8 text when they decode (null when absent).</summary>
    private static (string? Base64, string? Text) Payload(byte[]? bytes)
    {
        if (bytes is null)
        {
            return (null, null);
        }

        try
        {
            return (Convert.ToBase64String(bytes), StrictUtf8.GetString(bytes));
        }
        catch (DecoderFallbackException)
        {
            return (Convert.ToBase64String(bytes), null);
        }
    }

    private IResult ListGroups()
    {
        if (_groups.Availability != GroupError.None)
        {
            return Problem(503, "Group coordinator loading", "The group coordinator is still loading; retry.");
        }

        var groups = _groups.List().OrderBy(g => g.GroupId, StringComparer.Ordinal).Select(g => new GroupSummary(g.GroupId, g.State.ToString(), g.ProtocolType)).ToList();
        return Results.Json(groups, BrowseJsonContext.Default.ListGroupSummary);
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

        var partitions = lag.Partitions.Select(p => new PartitionLagView(p.Topic, p.Partition, p.CommittedOffset, p.LogEndOffset, p.Lag, p.MemberId, p.ClientId)).ToList();
        return Results.Json(new GroupLagView(lag.GroupId, lag.State.ToString(), lag.TotalLag, partitions), BrowseJsonContext.Default.GroupLagView);
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
}
