using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Replication;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Produce;

/// <summary>
/// The one produce path of the silo, shared by the Kafka Produce handler and REST produce (v2 and
/// v3): which topic a produce may auto-create, LogAppendTime stamping, the idempotent producer's
/// sequence checks, the append, the wait for the flush policy's durability point, and the wait for
/// read-your-writes (acknowledged records are visible to Fetch and ListOffsets).
/// </summary>
/// <remarks>
/// The Kafka handler drives the steps one at a time (<see cref="StartAppendAsync"/>,
/// <see cref="CompleteAsync"/>, <see cref="WaitVisibleAsync"/>) because it keeps a connection's
/// appends in request order while their durability waits overlap the next request's appends.
/// REST produce has records, not batches: <see cref="ProduceRecordsAsync"/> builds one batch per
/// partition and runs the same steps. Errors are Kafka error codes; each front maps them to its
/// own answer.
/// </remarks>
internal sealed partial class ProduceService
{
    private readonly TopicService _topics;
    private readonly StorageEngine _storage;
    private readonly ProducerStates _producerStates;
    private readonly ReplicationSettings _replication;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _roundRobin = -1;

    /// <summary>How long REST produce (acks=all) waits for the in-sync replicas.</summary>
    private static readonly TimeSpan ReplicationTimeout = TimeSpan.FromSeconds(30);

    public ProduceService(TopicService topics, StorageEngine storage, ProducerStates producerStates, ReplicationSettings replication, TimeProvider time, ILogger<ProduceService> logger)
    {
        _topics = topics;
        _storage = storage;
        _producerStates = producerStates;
        _replication = replication;
        _time = time;
        _logger = logger;
    }

    /// <summary>The topic a produce writes to: as a Kafka producer would, the broker's auto-create setting decides.</summary>
    public ValueTask<(TopicMetadata? Topic, TopicError Error)> TopicAsync(string name, CancellationToken cancellationToken) =>
        _topics.GetOrAutoCreateAsync(name, allowAutoCreate: true, cancellationToken);

    /// <summary>
    /// The partition of a record that names none: murmur2 of the key (as Kafka's default
    /// partitioner), else round-robin over the topic's partitions.
    /// </summary>
    public int ChoosePartition(ReadOnlySpan<byte> key, bool hasKey, int partitions) =>
        hasKey ? Murmur2.Partition(key, partitions) : (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)partitions);

    /// <summary>
    /// Stamps LogAppendTime (when the topic asks for it) and writes <paramref name="batches"/>
    /// (RecordBatch v2 bytes, the caller's buffer, stamped in place) to the partition. A plain
    /// append is written synchronously and comes back pending its durability point; an idempotent
    /// one (producer id ≥ 0) is checked, written and awaited under the partition's producer gate,
    /// so it comes back complete. Never throws for a refused append: the result carries the error.
    /// </summary>
    public ValueTask<PartitionAppend> StartAppendAsync(TopicMetadata topic, PartitionLog log, Memory<byte> batches, short acks, CancellationToken cancellationToken)
    {
        long appendTime = -1;
        var replica = topic.Replicas[log.Partition];
        if (!replica.IsLeader)
        {
            var state = replica.State;
            return new ValueTask<PartitionAppend>(PartitionAppend.Failed(
                state.HasLeader ? ErrorCode.NotLeaderOrFollower : ErrorCode.LeaderNotAvailable,
                state.HasLeader ? $"Broker {_replication.NodeId} does not lead {topic.Name}-{log.Partition}: broker {state.Leader} does (leader epoch {state.LeaderEpoch})." : $"{topic.Name}-{log.Partition} has no leader: no in-sync replica is live.",
                appendTime));
        }

        if (acks == -1 && replica.State.Isr.Length < replica.MinInsync)
        {
            // Refused before anything is written (Kafka's NOT_ENOUGH_REPLICAS): nothing to retry twice.
            return new ValueTask<PartitionAppend>(PartitionAppend.Failed(ErrorCode.NotEnoughReplicas, $"{topic.Name}-{log.Partition}: {replica.State.Isr.Length} in-sync replicas ({string.Join(',', replica.State.Isr)}), min.insync.replicas is {replica.MinInsync}.", appendTime));
        }

        try
        {
            StampLeaderEpoch(batches.Span, replica.LeaderEpoch);
            if (topic.Config.LogAppendTime)
            {
                appendTime = _time.GetUtcNow().ToUnixTimeMilliseconds();
                StampLogAppendTime(batches.Span, appendTime);
            }

            if (IsIdempotent(batches.Span))
            {
                // Sequence checks need the previous batch's outcome: appended and awaited in order.
                return AppendIdempotentAsync(topic.Name, log, batches, appendTime, cancellationToken);
            }

            // Written now (synchronously, in order); durable when the task completes.
            var append = _storage.AppendAsync(log, batches.Span);
            var pending = append.IsCompletedSuccessfully ? Task.FromResult(append.Result) : append.AsTask();
            return new ValueTask<PartitionAppend>(PartitionAppend.Pending(pending, appendTime));
        }
        catch (StorageException ex)
        {
            return new ValueTask<PartitionAppend>(Refused(topic.Name, log.Partition, ex, appendTime));
        }
    }

    /// <summary>Waits for a started append's durability point; a complete or refused append comes back as it is.</summary>
    /// <remarks>Pooled state machine: under a sync flush policy this suspends once per partition of every request.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<PartitionAppend> CompleteAsync(string topic, PartitionLog log, PartitionAppend append)
    {
        if (append.Append is not { } pending)
        {
            return append;
        }

        try
        {
            var appended = await pending.ConfigureAwait(false);
            return PartitionAppend.Done(appended.BaseOffset, appended.LastOffset, append.LogAppendTime);
        }
        catch (StorageException ex)
        {
            return Refused(topic, log.Partition, ex, append.LogAppendTime);
        }
    }

    /// <summary>
    /// acks=all: waits until every in-sync replica has the records up to <paramref name="lastOffset"/>
    /// (the high watermark passed it), then checks the ISR still meets min.insync.replicas
    /// (NOT_ENOUGH_REPLICAS_AFTER_APPEND: written, but not as durable as asked). Leadership lost
    /// while waiting answers NOT_LEADER_OR_FOLLOWER (the new leader may not have the records:
    /// the producer retries there, and idempotence keeps the retry from duplicating); no answer in
    /// <paramref name="timeout"/> is REQUEST_TIMED_OUT.
    /// </summary>
    public static ValueTask<(ErrorCode Error, string? Message)> WaitReplicatedAsync(TopicMetadata topic, PartitionLog log, long lastOffset, int leaderEpoch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Most answers need no wait (a sole in-sync leader, or followers already past the batch):
        // no timer, no linked token, no state machine for them.
        var replica = topic.Replicas[log.Partition];
        if (replica.IsLeader && replica.LeaderEpoch == leaderEpoch && replica.HighWatermark > lastOffset)
        {
            return new ValueTask<(ErrorCode, string?)>(CheckInsync(topic, log, replica));
        }

        return WaitForIsrAsync(topic, log, replica, lastOffset, leaderEpoch, timeout, cancellationToken);
    }

    private static async ValueTask<(ErrorCode Error, string? Message)> WaitForIsrAsync(TopicMetadata topic, PartitionLog log, PartitionReplica replica, long lastOffset, int leaderEpoch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            if (!replica.IsLeader || replica.LeaderEpoch != leaderEpoch)
            {
                return (ErrorCode.NotLeaderOrFollower, $"Leadership of {topic.Name}-{log.Partition} moved while waiting for acks=all (epoch {leaderEpoch} -> {replica.LeaderEpoch}).");
            }

            if (replica.HighWatermark > lastOffset || replica.BelowMinInsync)
            {
                // Below min.insync.replicas the high watermark stands still: answer now rather
                // than at the timeout (NOT_ENOUGH_REPLICAS_AFTER_APPEND, retriable).
                return CheckInsync(topic, log, replica);
            }

            try
            {
                await replica.WaitForChangeAsync(lastOffset, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (ErrorCode.RequestTimedOut, $"{topic.Name}-{log.Partition}: the in-sync replicas ({string.Join(',', replica.State.Isr)}) did not all copy offset {lastOffset} within {timeout.TotalMilliseconds:F0} ms.");
            }
        }
    }

    /// <summary>After the ISR has the records: still as many in-sync replicas as min.insync.replicas asks?</summary>
    private static (ErrorCode Error, string? Message) CheckInsync(TopicMetadata topic, PartitionLog log, PartitionReplica replica)
    {
        int min = replica.MinInsync;
        return replica.State.Isr.Length < min
            ? (ErrorCode.NotEnoughReplicasAfterAppend, $"{topic.Name}-{log.Partition}: written, but only {replica.State.Isr.Length} in-sync replicas remain; min.insync.replicas is {min}.")
            : (ErrorCode.None, null);
    }

    /// <summary>Stamps every whole batch with the leader epoch it is appended under (outside the CRC).</summary>
    private static void StampLeaderEpoch(Span<byte> span, int epoch)
    {
        while (span.Length >= RecordBatch.HeaderSize)
        {
            long total = RecordBatch.ReadTotalLength(span);
            if (total < RecordBatch.HeaderSize || total > span.Length)
            {
                return; // malformed: the engine refuses it with the precise reason
            }

            RecordBatch.StampPartitionLeaderEpoch(span, epoch);
            span = span[(int)total..];
        }
    }

    /// <summary>
    /// Read-your-writes, as Kafka clients expect: once acknowledged, the records are visible to
    /// Fetch and ListOffsets, so wait (usually microseconds) for the dispatcher to index them.
    /// </summary>
    /// <remarks>Pooled state machine: it suspends whenever the dispatcher has not caught up yet, which is common.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public static async ValueTask WaitVisibleAsync(PartitionLog log, long lastOffset, CancellationToken cancellationToken)
    {
        while (log.HighWatermark <= lastOffset && !log.IsDeleted)
        {
            await log.WaitForDataAsync(lastOffset, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// REST produce: one RecordBatch per partition present (records in request order), appended
    /// through the same steps as a Kafka produce (acks=all: durable and visible before the answer).
    /// Returns each record's offset (or its partition's error) in request order.
    /// </summary>
    public async Task<ProducedRecord[]> ProduceRecordsAsync(TopicMetadata topic, IReadOnlyList<PendingRecord> records, CancellationToken cancellationToken)
    {
        var results = new ProducedRecord[records.Count];
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var builder = new RecordBatchBuilder();
        for (int partition = 0; partition < topic.Partitions.Length; partition++)
        {
            // One pass per partition present (a request touches few): no grouping structures.
            builder.Clear();
            for (int i = 0; i < records.Count; i++)
            {
                // Indexed, not foreach: an interface enumerator would be boxed per partition.
                var r = records[i];
                if (r.Partition != partition)
                {
                    continue;
                }

                long timestamp = r.Timestamp ?? now;
                if (r.Key is not { } key)
                {
                    builder.Add(r.Value!.Value.Span, timestamp, r.Headers);
                }
                else if (r.Value is not { } value)
                {
                    builder.AddTombstone(key.Span, timestamp, r.Headers);
                }
                else
                {
                    builder.Add(key.Span, value.Span, timestamp, r.Headers);
                }
            }

            if (builder.Count == 0)
            {
                continue;
            }

            var log = topic.Partitions[partition];
            byte[] batch = ArrayPool<byte>.Shared.Rent(builder.GetSize());
            PartitionAppend done;
            try
            {
                int size = builder.Build(batch);
                int epoch = topic.Replicas[partition].LeaderEpoch;
                var started = await StartAppendAsync(topic, log, batch.AsMemory(0, size), acks: -1, cancellationToken).ConfigureAwait(false);
                done = await CompleteAsync(topic.Name, log, started).ConfigureAwait(false);
                if (done.Error == ErrorCode.None)
                {
                    var (error, message) = await WaitReplicatedAsync(topic, log, done.LastOffset, epoch, ReplicationTimeout, cancellationToken).ConfigureAwait(false);
                    done = error == ErrorCode.None ? done : PartitionAppend.Failed(error, message ?? "", done.LogAppendTime);
                }
            }
            finally
            {
                // The engine copied the bytes into the CommitLog when the append started.
                ArrayPool<byte>.Shared.Return(batch);
            }

            if (done.Error == ErrorCode.None)
            {
                await WaitVisibleAsync(log, done.LastOffset, cancellationToken).ConfigureAwait(false);
            }

            int n = 0;
            for (int i = 0; i < records.Count; i++)
            {
                if (records[i].Partition == partition)
                {
                    results[i] = done.Error == ErrorCode.None
                        ? new ProducedRecord(partition, done.BaseOffset + n++, ErrorCode.None, null, done.LogAppendTime >= 0 ? done.LogAppendTime : records[i].Timestamp ?? now)
                        : new ProducedRecord(partition, -1, done.Error, done.Message, -1);
                }
            }
        }

        return results;
    }

    /// <summary>True when the first batch is well formed and carries a producer id (the idempotent path).</summary>
    private static bool IsIdempotent(ReadOnlySpan<byte> batches) =>
        RecordBatch.TryReadInfo(batches, out var first) == BatchError.None && first.ProducerId >= 0;

    private async ValueTask<PartitionAppend> AppendIdempotentAsync(string topic, PartitionLog log, ReadOnlyMemory<byte> batches, long appendTime, CancellationToken cancellationToken)
    {
        // Check, append and record under the partition's gate so two in-flight requests of one
        // producer cannot interleave.
        var state = _producerStates.For(log);
        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!state.Loaded)
            {
                await WaitUntilIndexedAsync(log, cancellationToken).ConfigureAwait(false);
                state.LoadFrom(_storage, log);
            }

            long firstBase = -1;
            int offset = 0;
            while (offset < batches.Length)
            {
                var batch = batches[offset..];
                if (RecordBatch.TryReadInfo(batch.Span, out var info) != BatchError.None)
                {
                    await _storage.AppendAsync(log, batch.Span).ConfigureAwait(false); // throws the validation error
                    break;
                }

                batch = batch[..info.TotalLength];
                switch (state.Check(info, out long duplicateOffset))
                {
                    case SequenceCheck.Duplicate:
                        firstBase = firstBase < 0 ? duplicateOffset : firstBase;
                        break;
                    case SequenceCheck.OutOfOrder:
                        return PartitionAppend.Failed(ErrorCode.OutOfOrderSequenceNumber, $"Out of order sequence number for producer {info.ProducerId}: got {info.BaseSequence}.", appendTime);
                    case SequenceCheck.StaleEpoch:
                        return PartitionAppend.Failed(ErrorCode.InvalidProducerEpoch, $"Producer {info.ProducerId} epoch {info.ProducerEpoch} is older than the current one.", appendTime);
                    case SequenceCheck.UnknownProducer:
                        return PartitionAppend.Failed(ErrorCode.UnknownProducerId, $"No state for producer {info.ProducerId}; its sequence {info.BaseSequence} does not start at 0.", appendTime);
                    default:
                        var appended = await _storage.AppendAsync(log, batch.Span).ConfigureAwait(false);
                        state.Record(info, appended.BaseOffset);
                        firstBase = firstBase < 0 ? appended.BaseOffset : firstBase;
                        break;
                }

                offset += info.TotalLength;
            }

            // A duplicate's records are already visible; the read-your-writes wait covers the log's end.
            return PartitionAppend.Done(firstBase, log.LogEndOffset - 1, appendTime);
        }
        catch (StorageException ex)
        {
            return Refused(topic, log.Partition, ex, appendTime);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>Producer state is rebuilt from indexed batches; wait until every appended batch is indexed.</summary>
    private static async Task WaitUntilIndexedAsync(PartitionLog log, CancellationToken cancellationToken)
    {
        long end = log.LogEndOffset;
        while (log.HighWatermark < end)
        {
            await log.WaitForDataAsync(log.HighWatermark, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stamps every batch with the broker's time and re-seals its CRC.</summary>
    private static void StampLogAppendTime(Span<byte> span, long timestamp)
    {
        while (span.Length >= RecordBatch.HeaderSize)
        {
            long total = RecordBatch.ReadTotalLength(span);
            if (total < RecordBatch.HeaderSize || total > span.Length)
            {
                return; // malformed: the engine refuses it with the precise reason
            }

            // Re-sealing the CRC must never bless a corrupt batch: validate first, stamp after.
            if (RecordBatch.TryValidate(span[..(int)total], int.MaxValue, out _) != BatchError.None)
            {
                return;
            }

            RecordBatch.SetMaxTimestampAndLogAppendTime(span[..(int)total], timestamp);
            span = span[(int)total..];
        }
    }

    private PartitionAppend Refused(string topic, int partition, StorageException ex, long appendTime)
    {
        LogRefused(_logger, topic, partition, ex.Message);
        return PartitionAppend.Failed(ToErrorCode(ex.Error), ex.Message, appendTime);
    }

    /// <summary>The Kafka error for a storage refusal (REST maps it on to its own codes).</summary>
    private static ErrorCode ToErrorCode(StorageError error) => error switch
    {
        StorageError.CorruptBatch => ErrorCode.CorruptMessage,
        StorageError.MessageTooLarge => ErrorCode.MessageTooLarge,
        StorageError.UnknownPartition => ErrorCode.UnknownTopicOrPartition,
        _ => ErrorCode.KafkaStorageError,
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Produce to {Topic}-{Partition} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string topic, int partition, string reason);
}
