using System.Buffers;

namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Streams a Fetch response (v2–v12) partition by partition, so record data can go from the log
/// files to the socket without an intermediate copy.
/// </summary>
/// <remarks>
/// <para>Call order (counts are declared up front, as the wire format needs them):</para>
/// <code>
/// var fetch = new FetchResponseWriter(response, version);
/// fetch.WriteResponseHeader(correlationId);                 // optional: v0, or v1 for v12
/// fetch.Begin(throttleTimeMs, ErrorCode.None, sessionId, topicCount);
/// fetch.BeginTopic("orders", partitionCount);
/// fetch.BeginPartition(new FetchPartitionHeader(0, ErrorCode.None, hw, lso, logStart), recordsLength: region.Length);
/// response.AddFileRegion(region);                           // exactly recordsLength bytes, any mix of
/// fetch.BeginPartition(..., recordsLength: 0);              //   file regions and fetch.WriteRecords(span)
/// fetch.End();
/// </code>
/// <para>
/// <see cref="BeginPartition"/> writes every partition field up to and including the records
/// length (int32, or for flexible v12 COMPACT_RECORDS: uvarint length+1, so -1 = null is 0); the
/// caller then supplies exactly that many bytes to the same output. The partition's (and topic's)
/// trailing tagged fields in v12 are written by the next call, so the caller never has to close
/// anything. Body layout:
/// </para>
/// <code>
/// throttle_time_ms INT32 | error_code INT16 (v7+) | session_id INT32 (v7+)
/// responses [topic STRING,
///            partitions [partition_index INT32, error_code INT16, high_watermark INT64,
///                        last_stable_offset INT64 (v4+), log_start_offset INT64 (v5+),
///                        aborted_transactions NULLABLE [producer_id INT64, first_offset INT64] (v4+),
///                        preferred_read_replica INT32 (v11+), records RECORDS]]
/// (v12: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// For v2–v3 the header's last stable offset and aborted transactions are not written. The
/// records are what the caller supplies (the stored RecordBatches, magic 2): nothing is
/// down-converted for pre-0.11 clients.
/// Misuse (wrong counts or order) throws <see cref="InvalidOperationException"/>: it is a bug in
/// the handler, not bad input.
/// </remarks>
public ref struct FetchResponseWriter
{
    private const int StateCreated = 0;
    private const int StateBegun = 1;
    private const int StateInTopic = 2;
    private const int StateInPartition = 3;
    private const int StateEnded = 4;

    private readonly short _version;
    private readonly bool _flexible;
    private KafkaWriter _writer;
    private int _state;
    private int _topicsLeft;
    private int _partitionsLeft;

    public FetchResponseWriter(IBufferWriter<byte> output, short version)
    {
        _flexible = Wire.CheckWrite(ApiKey.Fetch, version);
        _version = version;
        _writer = new KafkaWriter(output);
        _state = StateCreated;
        _topicsLeft = 0;
        _partitionsLeft = 0;
    }

    /// <summary>The Fetch version being written.</summary>
    public readonly short Version => _version;

    /// <summary>True for v12 (compact records).</summary>
    public readonly bool IsFlexible => _flexible;

    /// <summary>Bytes written through this writer, <see cref="WriteRecords"/> included (file regions excluded).</summary>
    public readonly long Written => _writer.Written;

    /// <summary>Writes the response header (correlation id, plus empty tagged fields for v12). Only before <see cref="Begin"/>.</summary>
    public void WriteResponseHeader(int correlationId)
    {
        Expect(_state == StateCreated, "The response header goes first.");
        ResponseHeader.Write(ref _writer, ApiKey.Fetch, _version, correlationId);
    }

    /// <summary>Writes the top-level fields and the topic count.</summary>
    public void Begin(int throttleTimeMs, ErrorCode errorCode, int sessionId, int topicCount)
    {
        Expect(_state == StateCreated, "Begin is called once, first.");
        ArgumentOutOfRangeException.ThrowIfNegative(topicCount);
        _writer.WriteInt32(throttleTimeMs);
        if (_version >= 7)
        {
            _writer.WriteInt16((short)errorCode);
            _writer.WriteInt32(sessionId);
        }

        _writer.WriteArrayLength(topicCount, _flexible);
        _topicsLeft = topicCount;
        _state = StateBegun;
    }

    /// <summary>Starts the next topic (closing the previous one).</summary>
    public void BeginTopic(string name, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(partitionCount);
        CloseTopic();
        Expect(_state == StateBegun && _topicsLeft > 0, "More topics than declared in Begin.");
        _writer.WriteString(name, _flexible);
        _writer.WriteArrayLength(partitionCount, _flexible);
        _topicsLeft--;
        _partitionsLeft = partitionCount;
        _state = StateInTopic;
    }

    /// <summary>
    /// Writes one partition's fields through the records length. The caller then writes exactly
    /// <paramref name="recordsLength"/> bytes (file regions and/or <see cref="WriteRecords"/>);
    /// -1 sends null records.
    /// </summary>
    public void BeginPartition(in FetchPartitionHeader header, int recordsLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(recordsLength, -1);
        ClosePartition();
        Expect(_state == StateInTopic && _partitionsLeft > 0, "More partitions than declared in BeginTopic.");
        _writer.WriteInt32(header.PartitionIndex);
        _writer.WriteInt16((short)header.ErrorCode);
        _writer.WriteInt64(header.HighWatermark);
        if (_version >= 4)
        {
            _writer.WriteInt64(header.LastStableOffset);
        }

        if (_version >= 5)
        {
            _writer.WriteInt64(header.LogStartOffset);
        }

        if (_version >= 4)
        {
            var aborted = header.AbortedTransactions;
            _writer.WriteArrayLength(aborted?.Count ?? -1, _flexible);
            if (aborted is not null)
            {
                foreach (var txn in aborted)
                {
                    _writer.WriteInt64(txn.ProducerId);
                    _writer.WriteInt64(txn.FirstOffset);
                    Wire.EndStruct(ref _writer, _flexible);
                }
            }
        }

        if (_version >= 11)
        {
            _writer.WriteInt32(header.PreferredReadReplica);
        }

        _writer.WriteBytesLength(recordsLength, _flexible);
        _partitionsLeft--;
        _state = StateInPartition;
    }

    /// <summary>Copies record bytes from memory into the open partition (for data not in a file).</summary>
    public void WriteRecords(ReadOnlySpan<byte> records)
    {
        Expect(_state == StateInPartition, "Records go after BeginPartition.");
        _writer.WriteRaw(records);
    }

    /// <summary>Closes the last partition and topic and the response body.</summary>
    public void End()
    {
        CloseTopic();
        Expect(_state == StateBegun && _topicsLeft == 0, "Fewer topics than declared in Begin.");
        Wire.EndStruct(ref _writer, _flexible);
        _state = StateEnded;
    }

    private void ClosePartition()
    {
        if (_state == StateInPartition)
        {
            Wire.EndStruct(ref _writer, _flexible);
            _state = StateInTopic;
        }
    }

    private void CloseTopic()
    {
        ClosePartition();
        if (_state == StateInTopic)
        {
            Expect(_partitionsLeft == 0, "Fewer partitions than declared in BeginTopic.");
            Wire.EndStruct(ref _writer, _flexible);
            _state = StateBegun;
        }
    }

    private static void Expect(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException("FetchResponseWriter: " + message);
        }
    }
}
