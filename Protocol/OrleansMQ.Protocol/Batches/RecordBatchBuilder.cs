using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Builds a Kafka RecordBatch v2 the way a producer does: records get offset deltas 0, 1, 2, ...,
/// timestamps relative to the first record, and the batch gets its CRC-32C. For tests,
/// benchmarks and the internal producer. Supports <see cref="CompressionCodec.None"/> and
/// <see cref="CompressionCodec.Gzip"/>. Reusable after <see cref="Clear"/>; not thread-safe.
/// </summary>
public sealed class RecordBatchBuilder
{
    private byte[] _records = new byte[256];
    private int _length;
    private int _count;
    private long _firstTimestamp;
    private long _maxTimestamp;
    private byte[]? _payload;
    private int _payloadLength;

    /// <summary>Creates a builder for <paramref name="codec"/>.</summary>
    /// <exception cref="NotSupportedException">The codec is neither None nor Gzip.</exception>
    public RecordBatchBuilder(CompressionCodec codec = CompressionCodec.None)
    {
        if (codec is not (CompressionCodec.None or CompressionCodec.Gzip))
        {
            throw new NotSupportedException($"RecordBatchBuilder cannot write {codec} batches; use None or Gzip.");
        }

        Compression = codec;
    }

    /// <summary>The codec the records section is written with.</summary>
    public CompressionCodec Compression { get; }

    /// <summary>The baseOffset field; 0 like a producer (the broker overwrites it).</summary>
    public long BaseOffset { get; set; }

    /// <summary>The partitionLeaderEpoch field; -1 like a producer.</summary>
    public int PartitionLeaderEpoch { get; set; } = -1;

    /// <summary>Producer id; -1 when the producer is not idempotent.</summary>
    public long ProducerId { get; set; } = -1;

    /// <summary>Producer epoch; -1 when the producer is not idempotent.</summary>
    public short ProducerEpoch { get; set; } = -1;

    /// <summary>Sequence of the first record; -1 when the producer is not idempotent.</summary>
    public int BaseSequence { get; set; } = -1;

    /// <summary>Sets attributes bit 4.</summary>
    public bool IsTransactional { get; set; }

    /// <summary>Records added since construction or <see cref="Clear"/>.</summary>
    public int Count => _count;

    /// <summary>Adds a record with a key (an empty span is an empty key, not a null one).</summary>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers = null) =>
        AddRecord(key, keyIsNull: false, value, valueIsNull: false, timestamp, headers);

    /// <summary>Adds a record with a null key.</summary>
    public void Add(ReadOnlySpan<byte> value, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers = null) =>
        AddRecord(default, keyIsNull: true, value, valueIsNull: false, timestamp, headers);

    /// <summary>Adds a record with a null value (a tombstone for compacted topics).</summary>
    public void AddTombstone(ReadOnlySpan<byte> key, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers = null) =>
        AddRecord(key, keyIsNull: false, default, valueIsNull: true, timestamp, headers);

    /// <summary>Removes all records; the header properties keep their values.</summary>
    public void Clear()
    {
        _length = 0;
        _count = 0;
        _payload = null;
    }

    /// <summary>Exact size in bytes of the batch <see cref="Build()"/> produces (compresses if needed).</summary>
    public int GetSize() => RecordBatch.HeaderSize + GetPayload().Length;

    /// <summary>Builds the batch into a new array.</summary>
    /// <exception cref="InvalidOperationException">No record was added.</exception>
    public byte[] Build()
    {
        var batch = new byte[GetSize()];
        Build(batch);
        return batch;
    }

    /// <summary>Builds the batch into <paramref name="destination"/>; returns the bytes written.</summary>
    /// <exception cref="InvalidOperationException">No record was added.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than <see cref="GetSize"/>.</exception>
    public int Build(Span<byte> destination)
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        ReadOnlySpan<byte> payload = GetPayload();
        int total = RecordBatch.HeaderSize + payload.Length;
        if (destination.Length < total)
        {
            throw new ArgumentException($"The batch needs {total} bytes; the destination has {destination.Length}.", nameof(destination));
        }

        int attributes = (int)Compression | (IsTransactional ? RecordBatch.TransactionalFlag : 0);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.BaseOffset..], BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.BatchLength..], total - RecordBatch.LengthOverhead);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.PartitionLeaderEpoch..], PartitionLeaderEpoch);
        destination[RecordBatch.Magic] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(destination[RecordBatch.Attributes..], (short)attributes);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.LastOffsetDelta..], _count - 1);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.FirstTimestamp..], _firstTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.MaxTimestamp..], _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(destination[RecordBatch.ProducerId..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(destination[RecordBatch.ProducerEpoch..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.BaseSequence..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(destination[RecordBatch.RecordCount..], _count);
        payload.CopyTo(destination[RecordBatch.HeaderSize..]);
        RecordBatch.WriteCrc(destination, total);
        return total;
    }

    private ReadOnlySpan<byte> GetPayload()
    {
        if (Compression == CompressionCodec.None)
        {
            return _records.AsSpan(0, _length);
        }

        if (_payload is null)
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write(_records, 0, _length);
            }

            _payload = output.GetBuffer();
            _payloadLength = (int)output.Length;
        }

        return _payload.AsSpan(0, _payloadLength);
    }

    private void AddRecord(ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers)
    {
        if (_count == 0)
        {
            _firstTimestamp = timestamp;
            _maxTimestamp = timestamp;
        }

        long timestampDelta = timestamp - _firstTimestamp;
        int offsetDelta = _count;
        int headerCount = headers?.Count ?? 0;

        // Size the body first: the record starts with its own length.
        int bodySize = 1
            + KafkaVarint.SizeOf(timestampDelta)
            + KafkaVarint.SizeOf(offsetDelta)
            + SizeOfNullable(key.Length, keyIsNull)
            + SizeOfNullable(value.Length, valueIsNull)
            + KafkaVarint.SizeOf(headerCount);
        for (int h = 0; h < headerCount; h++)
        {
            KeyValuePair<string, byte[]> header = headers![h];
            ArgumentNullException.ThrowIfNull(header.Key, "headers[].Key");
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            bodySize += KafkaVarint.SizeOf(keyBytes) + keyBytes + SizeOfNullable(header.Value?.Length ?? 0, header.Value is null);
        }

        EnsureCapacity(KafkaVarint.SizeOf(bodySize) + bodySize);
        Span<byte> span = _records.AsSpan(_length);
        int p = KafkaVarint.Write(span, bodySize);
        span[p++] = 0; // record attributes: unused
        p += KafkaVarint.Write(span[p..], timestampDelta);
        p += KafkaVarint.Write(span[p..], offsetDelta);
        p += WriteNullable(span[p..], key, keyIsNull);
        p += WriteNullable(span[p..], value, valueIsNull);
        p += KafkaVarint.Write(span[p..], headerCount);
        for (int h = 0; h < headerCount; h++)
        {
            KeyValuePair<string, byte[]> header = headers![h];
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            p += KafkaVarint.Write(span[p..], keyBytes);
            p += Encoding.UTF8.GetBytes(header.Key, span[p..]);
            p += WriteNullable(span[p..], header.Value, header.Value is null);
        }

        _length += p;
        _count++;
        _maxTimestamp = Math.Max(_maxTimestamp, timestamp);
        _payload = null;
    }

    private static int SizeOfNullable(int length, bool isNull) =>
        isNull ? KafkaVarint.SizeOf(-1) : KafkaVarint.SizeOf(length) + length;

    private static int WriteNullable(Span<byte> destination, ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            return KafkaVarint.Write(destination, -1);
        }

        int p = KafkaVarint.Write(destination, bytes.Length);
        bytes.CopyTo(destination[p..]);
        return p + bytes.Length;
    }

    private void EnsureCapacity(int extra)
    {
        long needed = (long)_length + extra;
        if (needed > Array.MaxLength - RecordBatch.HeaderSize)
        {
            throw new InvalidOperationException("The record batch would exceed the largest array size.");
        }

        if (needed > _records.Length)
        {
            Array.Resize(ref _records, (int)Math.Min(Math.Max(needed, (long)_records.Length * 2), Array.MaxLength));
        }
    }
}
