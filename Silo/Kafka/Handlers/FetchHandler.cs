using System.Buffers;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Replication;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Fetch: resolves each partition's offset to CommitLog spans and answers with the response
/// header followed by the batches straight from the segment files (file regions the connection
/// sends with sendfile). Long-poll: with fewer than min_bytes available it waits — woken by the
/// dispatcher — until enough arrive or max_wait passes. Limits: max_bytes for the response,
/// partition_max_bytes per partition; the first batch of the first non-empty partition is
/// returned even when larger (Kafka's rule, so a consumer never stalls on a big batch).
/// Offloaded batches (tiered storage) are the exception to zero-copy: they are read from the blob
/// tier into a buffer and copied into the response; if the tier cannot be read, that partition
/// answers KAFKA_STORAGE_ERROR and the others are served as usual.
/// Fetch sessions (KIP-227) are declined (session id 0): every fetch is a full fetch.
/// v2–v3 (no max_bytes: unlimited response; no isolation level, last stable offset or aborted
/// transactions) get the same stored RecordBatches (magic 2): nothing is down-converted to the
/// magic 0/1 message sets a pre-0.11 client expects, as Kafka with message.downconversion.enable=false.
/// </summary>
internal sealed partial class FetchHandler
{
    private static readonly Action<object?> ReleaseSegment = static s => ((Segment)s!).Release();

    private readonly TopicCatalog _catalog;
    private readonly ReplicaManager _replicas;
    private readonly StorageEngine _storage;
    private readonly BrokerSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public FetchHandler(TopicCatalog catalog, ReplicaManager replicas, StorageEngine storage, BrokerSettings settings, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _catalog = catalog;
        _replicas = replicas;
        _storage = storage;
        _settings = settings;
        _time = time;
        _logger = loggerFactory.CreateLogger("OrleansMQ.Kafka.Fetch");
    }

    public async ValueTask HandleAsync(RequestHeader header, FetchRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        int maxWait = Math.Clamp(request.MaxWaitMs, 0, _settings.MaxFetchWaitMs);
        long started = _time.GetTimestamp();
        var plan = new List<PartitionRead>();
        try
        {
            while (true)
            {
                long total = await CollectAsync(request, plan, cancellationToken).ConfigureAwait(false);
                var elapsed = _time.GetElapsedTime(started);
                bool anyError = plan.Exists(p => p.Error != ErrorCode.None);
                if (total >= Math.Max(1, request.MinBytes) || anyError || elapsed.TotalMilliseconds >= maxWait || cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                // Wait only on partitions that have nothing past the fetch offset yet; if every
                // partition already has data (held back by the byte limits), waiting cannot help.
                var idle = plan.Where(p => p.Replica is not null && p.Available <= p.NextOffset).Select(p => (p.Replica!, p.NextOffset)).ToList();
                bool anyHeldBack = plan.Exists(p => p.Replica is not null && p.Available > p.NextOffset && p.Bytes == 0);
                ReleaseAll(plan);
                plan.Clear();
                if (anyHeldBack && idle.Count == 0)
                {
                    await CollectAsync(request, plan, cancellationToken).ConfigureAwait(false);
                    break;
                }

                var remaining = TimeSpan.FromMilliseconds(maxWait) - elapsed;
                using (var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var waits = new List<Task>(idle.Count + 1);
                    foreach (var (replica, offset) in idle)
                    {
                        // A follower waits for the leader's log to grow; a consumer for the high watermark.
                        waits.Add(request.ReplicaId >= 0 ? replica.Log.WaitForDataAsync(offset, wake.Token) : replica.WaitForChangeAsync(offset, wake.Token));
                    }

                    waits.Add(Task.Delay(remaining, _time, wake.Token));
                    await Task.WhenAny(waits).ConfigureAwait(false);
                    await wake.CancelAsync().ConfigureAwait(false); // drop the timer and the other waits now
                }
            }

            Write(header, plan, response);
        }
        catch
        {
            ReleaseAll(plan);
            throw;
        }
    }

    /// <summary>Resolves every requested partition to spans; returns the record bytes found.</summary>
    private async ValueTask<long> CollectAsync(FetchRequest request, List<PartitionRead> plan, CancellationToken cancellationToken)
    {
        long budget = request.MaxBytes > 0 ? request.MaxBytes : int.MaxValue;
        long total = 0;
        foreach (var t in request.Topics)
        {
            _catalog.TryGet(t.Name, out var topic);
            foreach (var p in t.Partitions)
            {
                var read = new PartitionRead(t.Name, p.PartitionIndex, p.FetchOffset);
                plan.Add(read);
                if (topic is null || p.PartitionIndex < 0 || p.PartitionIndex >= topic.Partitions.Length)
                {
                    read.Error = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                var log = topic.Partitions[p.PartitionIndex];
                var replica = topic.Replicas[p.PartitionIndex];
                read.Error = CheckLeader(replica, request.ReplicaId, p.CurrentLeaderEpoch, p.FetchOffset);
                if (read.Error != ErrorCode.None)
                {
                    continue;
                }

                read.Log = log;
                read.Replica = replica;
                read.HighWatermark = replica.HighWatermark;
                read.LogStartOffset = log.LogStartOffset;
                // Followers copy up to the leader's log end; consumers read only what every in-sync replica has.
                long limit = request.ReplicaId >= 0 ? long.MaxValue : read.HighWatermark;
                read.Available = request.ReplicaId >= 0 ? log.HighWatermark : read.HighWatermark;
                long partitionBudget = Math.Min(p.PartitionMaxBytes, budget - total);
                if (partitionBudget <= 0 && total > 0)
                {
                    continue;
                }

                var status = _storage.ReadSpans(log, p.FetchOffset, (int)Math.Clamp(partitionBudget, 1, int.MaxValue), read.Spans, limit);
                if (status == ReadStatus.OffsetOutOfRange)
                {
                    read.Error = ErrorCode.OffsetOutOfRange;
                    continue;
                }

                if (status == ReadStatus.StorageError)
                {
                    read.Error = ErrorCode.KafkaStorageError;
                    continue;
                }

                if (status == ReadStatus.Remote)
                {
                    await ReadRemoteAsync(log, read, partitionBudget, total, cancellationToken).ConfigureAwait(false);
                    total += read.Bytes;
                    continue;
                }

                // Only the first non-empty partition may exceed its limit (one batch).
                if (total > 0 && read.Spans.Count > 0 && read.Spans[0].Length > partitionBudget)
                {
                    ReleaseSpans(read.Spans);
                    continue;
                }

                read.Bytes = read.Spans.Sum(s => (long)s.Length);
                total += read.Bytes;
            }
        }

        return total;
    }

    /// <summary>
    /// Who may fetch this partition here: its leader serves consumers and its followers (a replica
    /// id that names a replica), at the leader epoch the fetcher believes in when it says one
    /// (older: FENCED_LEADER_EPOCH; newer than this silo knows: UNKNOWN_LEADER_EPOCH). A follower's
    /// fetch offset is its log end, recorded for the ISR and the high watermark.
    /// </summary>
    private ErrorCode CheckLeader(PartitionReplica replica, int replicaId, int currentLeaderEpoch, long fetchOffset)
    {
        if (currentLeaderEpoch >= 0 && currentLeaderEpoch < replica.LeaderEpoch)
        {
            LogRefusedFetch(_logger, replica.Topic, replica.Partition, replicaId, "FENCED_LEADER_EPOCH", currentLeaderEpoch, replica.LeaderEpoch);
            return ErrorCode.FencedLeaderEpoch;
        }

        if (currentLeaderEpoch > replica.LeaderEpoch)
        {
            LogRefusedFetch(_logger, replica.Topic, replica.Partition, replicaId, "UNKNOWN_LEADER_EPOCH", currentLeaderEpoch, replica.LeaderEpoch);
            return ErrorCode.UnknownLeaderEpoch;
        }

        if (!replica.IsLeader)
        {
            LogRefusedFetch(_logger, replica.Topic, replica.Partition, replicaId, "NOT_LEADER_OR_FOLLOWER", currentLeaderEpoch, replica.LeaderEpoch);
            return ErrorCode.NotLeaderOrFollower;
        }

        if (replicaId >= 0)
        {
            if (replica.OnFollowerFetch(replicaId, fetchOffset, _time.GetUtcNow().ToUnixTimeMilliseconds()) is not { } follower)
            {
                LogRefusedFetch(_logger, replica.Topic, replica.Partition, replicaId, "NOT_LEADER_OR_FOLLOWER (not a replica)", currentLeaderEpoch, replica.LeaderEpoch);
                return ErrorCode.NotLeaderOrFollower;
            }

            _replicas.OnFollowerFetched(replica, follower);
        }

        return ErrorCode.None;
    }

    /// <summary>Offloaded batches: copied from the blob tier (through its cache) into the partition's buffer.</summary>
    private async ValueTask ReadRemoteAsync(PartitionLog log, PartitionRead read, long partitionBudget, long totalSoFar, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            var (bytes, status) = await _storage.ReadRemoteAsync(log, read.NextOffset, (int)Math.Clamp(partitionBudget, 1, int.MaxValue), buffer, cancellationToken).ConfigureAwait(false);
            if (status != ReadStatus.Ok)
            {
                read.Error = status == ReadStatus.OffsetOutOfRange ? ErrorCode.OffsetOutOfRange : ErrorCode.KafkaStorageError;
                return;
            }

            // As for local spans: only the first non-empty partition may exceed its limit.
            if (totalSoFar > 0 && bytes > partitionBudget)
            {
                return;
            }

            read.Remote = buffer;
            read.Bytes = bytes;
        }
        catch (StorageException ex)
        {
            LogRemoteReadFailed(_logger, log.Topic, log.Partition, read.NextOffset, ex.Message);
            read.Error = ErrorCode.KafkaStorageError;
        }
    }

    private static void Write(RequestHeader header, List<PartitionRead> plan, KafkaResponse response)
    {
        var fetch = new FetchResponseWriter(response, header.ApiVersion);
        fetch.WriteResponseHeader(header.CorrelationId);
        var topics = plan.GroupBy(p => p.Topic).ToList();
        fetch.Begin(0, ErrorCode.None, 0, topics.Count);
        foreach (var topic in topics)
        {
            var partitions = topic.ToList();
            fetch.BeginTopic(topic.Key, partitions.Count);
            foreach (var p in partitions)
            {
                long hw = p.Log is null ? -1 : p.HighWatermark;
                fetch.BeginPartition(new FetchPartitionHeader(p.Partition, p.Error, hw, hw, p.Log is null ? -1 : p.LogStartOffset, -1, null), checked((int)p.Bytes));
                foreach (var span in p.Spans)
                {
                    // Ownership of the segment reference moves to the response: released after sending.
                    response.AddFileRegion(new FileRegion(span.Segment.FileHandle, span.FilePosition, span.Length, ReleaseSegment, span.Segment));
                }

                p.Spans.Clear();
                if (p.Remote is { } remote)
                {
                    response.Write(remote.WrittenSpan);
                    p.Remote = null;
                }
            }
        }

        fetch.End();
    }

    private static void ReleaseAll(List<PartitionRead> plan)
    {
        foreach (var p in plan)
        {
            ReleaseSpans(p.Spans);
        }
    }

    private static void ReleaseSpans(List<LogSpan> spans)
    {
        foreach (var s in spans)
        {
            s.Release();
        }

        spans.Clear();
    }

    private sealed class PartitionRead(string topic, int partition, long fetchOffset)
    {
        public string Topic { get; } = topic;

        public int Partition { get; } = partition;

        public long NextOffset { get; } = fetchOffset;

        public PartitionLog? Log { get; set; }

        public PartitionReplica? Replica { get; set; }

        /// <summary>What this fetcher may read up to: the leader's log end for a follower, the high watermark for a consumer.</summary>
        public long Available { get; set; }

        public ErrorCode Error { get; set; }

        public long HighWatermark { get; set; }

        public long LogStartOffset { get; set; }

        public long Bytes { get; set; }

        public List<LogSpan> Spans { get; } = new();

        /// <summary>Batches read from the blob tier (copied), or null.</summary>
        public ArrayBufferWriter<byte>? Remote { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetch {Topic}-{Partition} from replica id {ReplicaId} refused: {Error} (its leader epoch {TheirEpoch}, ours {OurEpoch})")]
    private static partial void LogRefusedFetch(ILogger logger, string topic, int partition, int replicaId, string error, int theirEpoch, int ourEpoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fetch {Topic}-{Partition} at offset {Offset}: the blob tier cannot be read, answering KAFKA_STORAGE_ERROR: {Reason}")]
    private static partial void LogRemoteReadFailed(ILogger logger, string topic, int partition, long offset, string reason);
}
