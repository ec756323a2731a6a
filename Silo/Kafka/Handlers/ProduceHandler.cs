using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.CommitLog;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Produce: per partition, the RecordBatch bytes go to the storage engine as received (it
/// validates magic, lengths, size and CRC-32C and assigns offsets). Idempotent producers
/// (producerId ≥ 0) are checked against the partition's producer state first: a retry of one of
/// the last five batches is answered with its original offset and not appended again; a gap is
/// OUT_OF_ORDER_SEQUENCE_NUMBER. LogAppendTime topics get their timestamps stamped (and the CRC
/// re-sealed) here. acks=0 sends no response; acks=1 and acks=all (one node) wait for the flush
/// policy's durability point. Produce v0–v2 is answered, but only for RecordBatch (magic 2) data:
/// a legacy message set (magic 0/1) is refused per partition with UNSUPPORTED_FOR_MESSAGE_FORMAT
/// and nothing is appended (see <see cref="FindLegacyMagic"/>).
/// </summary>
internal sealed partial class ProduceHandler
{
    private readonly TopicService _topics;
    private readonly StorageEngine _storage;
    private readonly ProducerStates _producerStates;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ProduceHandler(TopicService topics, StorageEngine storage, ProducerStates producerStates, TimeProvider time, ILogger<ProduceHandler> logger)
    {
        _topics = topics;
        _storage = storage;
        _producerStates = producerStates;
        _time = time;
        _logger = logger;
    }

    public async ValueTask HandleAsync(ConnectionContext connection, RequestHeader header, ProduceRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new ProduceResponse();
        var written = new List<(Storage.Engine.PartitionLog Log, long LastOffset)>();
        // Appends follow the connection's request order (see ConnectionContext.ProduceOrder); the
        // wait for durability (sync flush) happens after the next request may append, so a
        // pipelining client still shares flushes.
        var previous = connection.ProduceOrder;
        var appendedInOrder = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ProduceOrder = appendedInOrder.Task;
        var durable = new List<(ProduceResponse.Partition Result, PartitionLog Log, Task<AppendResult> Append, string Topic)>();
        try
        {
            if (!previous.IsCompleted)
            {
                await previous.ConfigureAwait(false);
            }

            foreach (var t in request.Topics)
            {
                var topicResult = new ProduceResponse.Topic { Name = t.Name };
                body.Topics.Add(topicResult);
                var (topic, topicError) = await _topics.GetOrAutoCreateAsync(t.Name, allowAutoCreate: true, cancellationToken).ConfigureAwait(false);
                foreach (var p in t.Partitions)
                {
                    var result = new ProduceResponse.Partition { Index = p.Index, BaseOffset = -1, LogAppendTimeMs = -1, LogStartOffset = -1 };
                    topicResult.Partitions.Add(result);
                    if (topic is null)
                    {
                        result.ErrorCode = topicError == Topics.TopicError.InvalidTopic ? ErrorCode.InvalidTopicException : ErrorCode.UnknownTopicOrPartition;
                        continue;
                    }

                    if (p.Index < 0 || p.Index >= topic.Partitions.Length)
                    {
                        result.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                        continue;
                    }

                    if (request.TransactionalId is not null)
                    {
                        result.ErrorCode = ErrorCode.TransactionalIdAuthorizationFailed;
                        result.ErrorMessage = "Transactions are not supported by this broker.";
                        continue;
                    }

                    var log = topic.Partitions[p.Index];
                    result.LogStartOffset = log.LogStartOffset;
                    if (p.Records is not { Length: > 0 } records)
                    {
                        result.ErrorCode = ErrorCode.CorruptMessage;
                        result.ErrorMessage = "The partition carried no record batch.";
                        continue;
                    }

                    if (header.ApiVersion < 3 && FindLegacyMagic(records.Span) is { } magic)
                    {
                        result.ErrorCode = ErrorCode.UnsupportedForMessageFormat;
                        result.ErrorMessage = $"Message format v{magic} (magic {magic}) is not supported: this broker stores only RecordBatch v2 (magic 2, Kafka 0.11+) and does not up-convert.";
                        LogRefused(_logger, t.Name, p.Index, result.ErrorMessage);
                        continue;
                    }

                    try
                    {
                        long appendTime = -1;
                        if (topic.Config.LogAppendTime)
                        {
                            appendTime = _time.GetUtcNow().ToUnixTimeMilliseconds();
                            StampLogAppendTime(records, appendTime);
                            result.LogAppendTimeMs = appendTime;
                        }

                        if (IsIdempotent(records.Span))
                        {
                            // Sequence checks need the previous batch's outcome: appended and awaited in order.
                            (result.ErrorCode, result.BaseOffset, result.ErrorMessage) = await AppendIdempotentAsync(log, records, cancellationToken).ConfigureAwait(false);
                            if (result.ErrorCode == ErrorCode.None)
                            {
                                written.Add((log, log.LogEndOffset - 1));
                            }
                        }
                        else
                        {
                            // Written now (synchronously, in order); durable when the task completes.
                            durable.Add((result, log, StartAppend(log, records.Span), t.Name));
                        }
                    }
                    catch (StorageException ex)
                    {
                        result.ErrorCode = KafkaErrors.ToErrorCode(ex.Error);
                        result.ErrorMessage = ex.Message;
                        LogRefused(_logger, t.Name, p.Index, ex.Message);
                    }
                }
            }
        }
        finally
        {
            appendedInOrder.TrySetResult();
        }

        foreach (var (result, log, append, topicName) in durable)
        {
            try
            {
                var appended = await append.ConfigureAwait(false);
                result.BaseOffset = appended.BaseOffset;
                written.Add((log, appended.LastOffset));
            }
            catch (StorageException ex)
            {
                result.ErrorCode = KafkaErrors.ToErrorCode(ex.Error);
                result.ErrorMessage = ex.Message;
                LogRefused(_logger, topicName, result.Index, ex.Message);
            }
        }

        if (request.Acks == 0)
        {
            response.Suppressed = true;
            return;
        }

        // Read-your-writes, as Kafka clients expect: once acknowledged, the records are visible to
        // Fetch and ListOffsets, so wait (usually microseconds) for the dispatcher to index them.
        foreach (var (log, lastOffset) in written)
        {
            while (log.HighWatermark <= lastOffset && !log.IsDeleted)
            {
                await log.WaitForDataAsync(lastOffset, cancellationToken).ConfigureAwait(false);
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>Writes now; the task completes at the flush policy's durability point.</summary>
    private Task<AppendResult> StartAppend(PartitionLog log, ReadOnlySpan<byte> records)
    {
        var append = _storage.AppendAsync(log, records);
        return append.IsCompletedSuccessfully ? Task.FromResult(append.Result) : append.AsTask();
    }

    /// <summary>True when the first batch is well formed and carries a producer id (the idempotent path).</summary>
    private static bool IsIdempotent(ReadOnlySpan<byte> records) =>
        RecordBatch.TryReadInfo(records, out var first) == BatchError.None && first.ProducerId >= 0;

    private async ValueTask<(ErrorCode Error, long BaseOffset, string? Message)> AppendIdempotentAsync(PartitionLog log, ReadOnlyMemory<byte> records, CancellationToken cancellationToken)
    {
        // Idempotent: check, append and record under the partition's gate so two in-flight
        // requests of one producer cannot interleave.
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
            while (offset < records.Length)
            {
                var batch = records[offset..];
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
                        return (ErrorCode.OutOfOrderSequenceNumber, -1, $"Out of order sequence number for producer {info.ProducerId}: got {info.BaseSequence}.");
                    case SequenceCheck.StaleEpoch:
                        return (ErrorCode.InvalidProducerEpoch, -1, $"Producer {info.ProducerId} epoch {info.ProducerEpoch} is older than the current one.");
                    case SequenceCheck.UnknownProducer:
                        return (ErrorCode.UnknownProducerId, -1, $"No state for producer {info.ProducerId}; its sequence {info.BaseSequence} does not start at 0.");
                    default:
                        var appended = await _storage.AppendAsync(log, batch.Span).ConfigureAwait(false);
                        state.Record(info, appended.BaseOffset);
                        firstBase = firstBase < 0 ? appended.BaseOffset : firstBase;
                        break;
                }

                offset += info.TotalLength;
            }

            return (ErrorCode.None, firstBase, null);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// The magic (0 or 1) of the first legacy message-set entry in <paramref name="records"/>, or
    /// null if there is none. Legacy entries (offset INT64, size INT32, crc INT32, magic INT8) and
    /// RecordBatches (baseOffset INT64, length INT32, leaderEpoch INT32, magic INT8) both carry the
    /// magic at byte 16 and their size after the first 12 bytes, so one walk covers both; a
    /// malformed tail ends the walk and is left to the engine's validation.
    /// </summary>
    /// <remarks>
    /// Kafka answers a legacy message set it cannot take in the broker's format with
    /// UNSUPPORTED_FOR_MESSAGE_FORMAT, and that is the truth here: the data is well formed, this
    /// broker just does not store that format. CORRUPT_MESSAGE would be wrong and worse: clients
    /// treat it as retriable (the Java client's CorruptRecordException) and would resend forever.
    /// </remarks>
    internal static byte? FindLegacyMagic(ReadOnlySpan<byte> records)
    {
        while (records.Length > RecordBatch.Magic)
        {
            byte magic = records[RecordBatch.Magic];
            if (magic < RecordBatch.CurrentMagic)
            {
                return magic;
            }

            long total = RecordBatch.ReadTotalLength(records);
            if (total <= RecordBatch.Magic || total > records.Length)
            {
                return null;
            }

            records = records[(int)total..];
        }

        return null;
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

    /// <summary>Stamps every batch with the broker's time (the frame buffer is ours until the response is sent).</summary>
    private static void StampLogAppendTime(ReadOnlyMemory<byte> records, long timestamp)
    {
        var span = MemoryMarshal.AsMemory(records).Span;
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Produce to {Topic}-{Partition} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string topic, int partition, string reason);
}
