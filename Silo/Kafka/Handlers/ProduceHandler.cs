using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Produce;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Produce on the Kafka wire: per partition, the request's checks (topic, partition, transactions,
/// the message format by API version), then the RecordBatch bytes go as received through the
/// silo's one produce path (<see cref="ProduceService"/>: LogAppendTime, idempotence, append,
/// durability). What stays here is the wire's part: a connection's appends follow its request
/// order while durability waits overlap; acks=0 sends no response; Produce v0–v2 is answered, but
/// only for RecordBatch (magic 2) data: a legacy message set (magic 0/1) is refused per partition
/// with UNSUPPORTED_FOR_MESSAGE_FORMAT and nothing is appended (see <see cref="FindLegacyMagic"/>).
/// </summary>
internal sealed partial class ProduceHandler
{
    private readonly ProduceService _produce;
    private readonly ILogger _logger;

    public ProduceHandler(ProduceService produce, ILogger<ProduceHandler> logger)
    {
        _produce = produce;
        _logger = logger;
    }

    public async ValueTask HandleAsync(ConnectionContext connection, RequestHeader header, ProduceRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new ProduceResponse();
        var written = new List<Written>();
        // Appends follow the connection's request order (see ConnectionContext.ProduceOrder); the
        // wait for durability (sync flush) happens after the next request may append, so a
        // pipelining client still shares flushes.
        var previous = connection.ProduceOrder;
        var appendedInOrder = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ProduceOrder = appendedInOrder.Task;
        var durable = new List<(ProduceResponse.Partition Result, PartitionLog Log, PartitionAppend Append, TopicMetadata Topic, int Epoch)>();
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
                var (topic, topicError) = await _produce.TopicAsync(t.Name, cancellationToken).ConfigureAwait(false);
                foreach (var p in t.Partitions)
                {
                    var result = new ProduceResponse.Partition { Index = p.Index, BaseOffset = -1, LogAppendTimeMs = -1, LogStartOffset = -1 };
                    topicResult.Partitions.Add(result);
                    if (topic is null)
                    {
                        result.ErrorCode = topicError == Topics.TopicError.InvalidTopic ? ErrorCode.InvalidTopicException : ErrorCode.UnknownTopicOrPartition;
                        continue;
                    }

                    if (topic.IsInternal)
                    {
                        // __consumer_offsets is the group coordinator's: only it appends there (Kafka's answer).
                        result.ErrorCode = ErrorCode.InvalidTopicException;
                        result.ErrorMessage = $"Cannot append to internal topic {topic.Name}.";
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

                    // The frame buffer is ours until the response is sent: LogAppendTime is stamped in place.
                    int epoch = topic.Replicas[p.Index].LeaderEpoch;
                    var append = await _produce.StartAppendAsync(topic, log, MemoryMarshal.AsMemory(records), request.Acks, cancellationToken).ConfigureAwait(false);
                    result.LogAppendTimeMs = append.LogAppendTime;
                    if (append.Append is not null)
                    {
                        durable.Add((result, log, append, topic, epoch));
                    }
                    else
                    {
                        Answer(result, topic, log, epoch, append, written);
                    }
                }
            }
        }
        finally
        {
            appendedInOrder.TrySetResult();
        }

        foreach (var (result, log, append, topic, epoch) in durable)
        {
            Answer(result, topic, log, epoch, await _produce.CompleteAsync(topic.Name, log, append).ConfigureAwait(false), written);
        }

        if (request.Acks == 0)
        {
            response.Suppressed = true;
            return;
        }

        foreach (var w in written)
        {
            if (request.Acks == -1)
            {
                var (error, message) = await ProduceService.WaitReplicatedAsync(w.Topic, w.Log, w.LastOffset, w.Epoch, TimeSpan.FromMilliseconds(Math.Max(1, request.TimeoutMs)), cancellationToken).ConfigureAwait(false);
                if (error != ErrorCode.None)
                {
                    w.Result.ErrorCode = error;
                    w.Result.ErrorMessage = message;
                    if (error != ErrorCode.NotEnoughReplicasAfterAppend)
                    {
                        w.Result.BaseOffset = -1;
                    }

                    continue;
                }
            }

            await ProduceService.WaitVisibleAsync(w.Log, w.LastOffset, cancellationToken).ConfigureAwait(false);
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>A complete append's answer; a written one is also waited on (acks=all, read-your-writes).</summary>
    private static void Answer(ProduceResponse.Partition result, TopicMetadata topic, PartitionLog log, int epoch, in PartitionAppend append, List<Written> written)
    {
        result.ErrorCode = append.Error;
        result.ErrorMessage = append.Message;
        if (append.Error == ErrorCode.None)
        {
            result.BaseOffset = append.BaseOffset;
            written.Add(new Written(result, topic, log, append.LastOffset, epoch));
        }
    }

    private readonly record struct Written(ProduceResponse.Partition Result, TopicMetadata Topic, PartitionLog Log, long LastOffset, int Epoch);

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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Produce to {Topic}-{Partition} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string topic, int partition, string reason);
}
