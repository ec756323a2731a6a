using System.Buffers.Binary;
using System.Text;
using OrleansMQ.Protocol.Batches.Compression;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// The one RecordBatch v2 encoder: the managed producer and <see cref="RecordBatchBuilder"/> both
/// use it. Records are encoded straight into a caller's buffer laid out as a whole batch —
/// <see cref="RecordBatch.HeaderSize"/> bytes of header room, then the records — so an
/// uncompressed batch is sent from that buffer without a copy. Records get offset deltas
/// 0, 1, 2, ... and timestamps relative to the first record, as a producer writes them.
/// <see cref="TryAppend"/> allocates nothing: a record that does not fit is refused and the
/// caller decides (a new batch, a larger buffer). Reusable after <see cref="Reset"/>; not thread-safe.
/// </summary>
public sealed class RecordBatchEncoder
{
    /// <summary>An encoder without a buffer; call <see cref="Reset"/> before appending.</summary>
    public RecordBatchEncoder()
    {
        Buffer = [];
    }

    /// <summary>The batch buffer: header room, then the records.</summary>
    public byte[] Buffer { get; private set; }

    /// <summary>End of the records in <see cref="Buffer"/> (the header room included).</summary>
    public int Length { get; private set; }

    /// <summary>Records appended since <see cref="Reset"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Timestamp of the first record (the batch's firstTimestamp).</summary>
    public long FirstTimestamp { get; private set; }

    /// <summary>Largest record timestamp (the batch's maxTimestamp).</summary>
    public long MaxTimestamp { get; private set; }

    /// <summary>The uncompressed records section.</summary>
    public ReadOnlySpan<byte> Records => Buffer.AsSpan(RecordBatch.HeaderSize, Length - RecordBatch.HeaderSize);

    /// <summary>Starts an empty batch in <paramref name="buffer"/> (at least <see cref="RecordBatch.HeaderSize"/> bytes).</summary>
    public void Reset(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, RecordBatch.HeaderSize, nameof(buffer));
        Buffer = buffer;
        Length = RecordBatch.HeaderSize;
        Count = 0;
        FirstTimestamp = 0;
        MaxTimestamp = 0;
    }

    /// <summary>Moves the records so far into a larger <paramref name="buffer"/> (a builder growing).</summary>
    public void MoveTo(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, Length, nameof(buffer));
        Buffer.AsSpan(0, Length).CopyTo(buffer);
        Buffer = buffer;
    }

    /// <summary>Forgets the buffer and returns it (to hand it back to its pool).</summary>
    public byte[] Detach()
    {
        byte[] buffer = Buffer;
        Buffer = [];
        Length = 0;
        Count = 0;
        return buffer;
    }

    /// <summary>Bytes a record takes in a batch, its length prefix included.</summary>
    public static int RecordSize(int keyLength, bool keyIsNull, int valueLength, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestampDelta, int offsetDelta)
    {
        int body = BodySize(keyLength, keyIsNull, valueLength, valueIsNull, headers, timestampDelta, offsetDelta);
        return KafkaVarint.SizeOf(body) + body;
    }

    /// <summary>Bytes the next record would take in this batch (its deltas depend on the records before it).</summary>
    public int NextRecordSize(int keyLength, bool keyIsNull, int valueLength, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestamp) =>
        RecordSize(keyLength, keyIsNull, valueLength, valueIsNull, headers, Count == 0 ? 0 : timestamp - FirstTimestamp, Count);

    /// <summary>
    /// Appends a record; false when it does not fit the buffer (nothing is written then). Null
    /// header values are encoded as Kafka's null (-1 length).
    /// </summary>
    public bool TryAppend(ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestamp)
    {
        long first = Count == 0 ? timestamp : FirstTimestamp;
        long timestampDelta = timestamp - first;
        int body = BodySize(key.Length, keyIsNull, value.Length, valueIsNull, headers, timestampDelta, Count);
        int size = KafkaVarint.SizeOf(body) + body;
        if ((long)Length + size > Buffer.Length)
        {
            return false;
        }

        Span<byte> span = Buffer.AsSpan(Length, size);
        int p = KafkaVarint.Write(span, body);
        span[p++] = 0; // record attributes: unused
        p += KafkaVarint.Write(span[p..], timestampDelta);
        p += KafkaVarint.Write(span[p..], Count);
        p += WriteNullable(span[p..], key, keyIsNull);
        p += WriteNullable(span[p..], value, valueIsNull);
        int headerCount = headers?.Count ?? 0;
        p += KafkaVarint.Write(span[p..], headerCount);
        for (int h = 0; h < headerCount; h++)
        {
            var header = headers![h];
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            p += KafkaVarint.Write(span[p..], keyBytes);
            p += Encoding.UTF8.GetBytes(header.Key, span[p..]);
            p += WriteNullable(span[p..], header.Value, header.Value is null);
        }

        if (Count == 0)
        {
            FirstTimestamp = timestamp;
            MaxTimestamp = timestamp;
        }
        else if (timestamp > MaxTimestamp)
        {
            MaxTimestamp = timestamp;
        }

        Length += size;
        Count++;
        return true;
    }

    /// <summary>
    /// Compresses the records into a pooled buffer with header room in front, ready for
    /// <see cref="WriteHeader"/>; returns it with the batch's total length. Return the buffer to
    /// <see cref="System.Buffers.ArrayPool{T}.Shared"/>.
    /// </summary>
    public byte[] Compress(CompressionCodec codec, out int totalLength) =>
        RecordsCodec.Compress(codec, Records, RecordBatch.HeaderSize, out totalLength);

    /// <summary>
    /// Writes the 61-byte header of this batch into <paramref name="batch"/> (the whole batch:
    /// <see cref="Buffer"/> up to <see cref="Length"/>, or a <see cref="Compress"/> result) and its
    /// CRC-32C. Written per send attempt, because the producer id, epoch and sequence can change
    /// between attempts.
    /// </summary>
    public void WriteHeader(Span<byte> batch, CompressionCodec codec, bool isTransactional, long producerId, short producerEpoch, int baseSequence, long baseOffset = 0, int partitionLeaderEpoch = -1)
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(batch.Length, RecordBatch.HeaderSize, nameof(batch));
        int attributes = (int)codec | (isTransactional ? RecordBatch.TransactionalFlag : 0);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.BaseOffset..], baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.BatchLength..], batch.Length - RecordBatch.LengthOverhead);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.PartitionLeaderEpoch..], partitionLeaderEpoch);
        batch[RecordBatch.Magic] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.Attributes..], (short)attributes);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.LastOffsetDelta..], Count - 1);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.FirstTimestamp..], FirstTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.MaxTimestamp..], MaxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatch.ProducerId..], producerId);
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatch.ProducerEpoch..], producerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.BaseSequence..], baseSequence);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatch.RecordCount..], Count);
        RecordBatch.RecomputeCrc(batch);
    }

    private static int BodySize(int keyLength, bool keyIsNull, int valueLength, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestampDelta, int offsetDelta)
    {
        int headerCount = headers?.Count ?? 0;
        int size = 1
            + KafkaVarint.SizeOf(timestampDelta)
            + KafkaVarint.SizeOf(offsetDelta)
            + SizeOfNullable(keyLength, keyIsNull)
            + SizeOfNullable(valueLength, valueIsNull)
            + KafkaVarint.SizeOf(headerCount);
        for (int h = 0; h < headerCount; h++)
        {
            var header = headers![h];
            ArgumentNullException.ThrowIfNull(header.Key, "headers[].Key");
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            size += KafkaVarint.SizeOf(keyBytes) + keyBytes + SizeOfNullable(header.Value?.Length ?? 0, header.Value is null);
        }

        return size;
    }

    private static int SizeOfNullable(int length, bool isNull) =>
        isNull ? 1 : KafkaVarint.SizeOf(length) + length;

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
}
