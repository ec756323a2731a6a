using System.Buffers.Binary;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Kafka RecordBatch v2 (magic 2): validation, header parsing and the few in-place edits a broker
/// makes. All header fields are big-endian.
/// <code>
///  0 baseOffset            int64   not covered by the CRC (broker stamps it)
///  8 batchLength           int32   bytes after this field: total length - 12
/// 12 partitionLeaderEpoch  int32   not covered by the CRC
/// 16 magic                 int8    2
/// 17 crc                   uint32  CRC-32C of bytes [21, total)
/// 21 attributes            int16   bits 0-2 codec, 3 LogAppendTime, 4 transactional, 5 control
/// 23 lastOffsetDelta       int32
/// 27 firstTimestamp        int64
/// 35 maxTimestamp          int64
/// 43 producerId            int64
/// 51 producerEpoch         int16
/// 53 baseSequence          int32
/// 57 recordCount           int32
/// 61 records...                    compressed as one block when codec != 0
/// </code>
/// </summary>
public static class RecordBatch
{
    /// <summary>Field offset of baseOffset (int64).</summary>
    public const int BaseOffset = 0;

    /// <summary>Field offset of batchLength (int32).</summary>
    public const int BatchLength = 8;

    /// <summary>Field offset of partitionLeaderEpoch (int32).</summary>
    public const int PartitionLeaderEpoch = 12;

    /// <summary>Field offset of magic (int8).</summary>
    public const int Magic = 16;

    /// <summary>Field offset of crc (uint32).</summary>
    public const int Crc = 17;

    /// <summary>Field offset of attributes (int16); the CRC covers from here to the end.</summary>
    public const int Attributes = 21;

    /// <summary>Field offset of lastOffsetDelta (int32).</summary>
    public const int LastOffsetDelta = 23;

    /// <summary>Field offset of firstTimestamp (int64), called baseTimestamp by Kafka.</summary>
    public const int FirstTimestamp = 27;

    /// <summary>Field offset of maxTimestamp (int64).</summary>
    public const int MaxTimestamp = 35;

    /// <summary>Field offset of producerId (int64).</summary>
    public const int ProducerId = 43;

    /// <summary>Field offset of producerEpoch (int16).</summary>
    public const int ProducerEpoch = 51;

    /// <summary>Field offset of baseSequence (int32).</summary>
    public const int BaseSequence = 53;

    /// <summary>Field offset of recordCount (int32).</summary>
    public const int RecordCount = 57;

    /// <summary>Size of the v2 header; the records start here.</summary>
    public const int HeaderSize = 61;

    /// <summary>Bytes before the batchLength count starts: baseOffset and batchLength.</summary>
    public const int LengthOverhead = 12;

    /// <summary>Smallest legal batchLength: a header with no record bytes.</summary>
    public const int MinBatchLength = HeaderSize - LengthOverhead;

    /// <summary>The only magic value accepted.</summary>
    public const byte CurrentMagic = 2;

    /// <summary>Attributes bits holding the <see cref="CompressionCodec"/>.</summary>
    public const int CompressionCodecMask = 0x07;

    /// <summary>Attributes bit 3: timestamp type is LogAppendTime.</summary>
    public const int LogAppendTimeFlag = 0x08;

    /// <summary>Attributes bit 4: transactional batch.</summary>
    public const int TransactionalFlag = 0x10;

    /// <summary>Attributes bit 5: control batch.</summary>
    public const int ControlFlag = 0x20;

    /// <summary>
    /// Smallest encoded record: length, attributes, timestampDelta, offsetDelta, keyLength,
    /// valueLength and headerCount at one byte each. Bounds recordCount of an uncompressed batch.
    /// </summary>
    internal const int MinRecordSize = 7;

    /// <summary>
    /// Validates the first batch at the start of <paramref name="buffer"/> (more bytes, such as
    /// further batches, may follow it). Checks in this order, so that no CRC work is spent on a
    /// batch that is too big or incomplete: header present, batchLength sane and within the buffer,
    /// size within <paramref name="maxBatchBytes"/>, magic 2, CRC-32C, codec, record count.
    /// Allocates nothing.
    /// </summary>
    /// <param name="buffer">Bytes starting at a batch's baseOffset field.</param>
    /// <param name="maxBatchBytes">Largest total batch size accepted (e.g. the topic's max.message.bytes).</param>
    /// <param name="info">The parsed header when the result is <see cref="BatchError.None"/>; default otherwise.</param>
    public static BatchError TryValidate(ReadOnlySpan<byte> buffer, int maxBatchBytes, out RecordBatchInfo info)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatchBytes);
        info = default;
        BatchError error = CheckFraming(buffer, out int total);
        if (error != BatchError.None)
        {
            return error;
        }

        // A batch that will be refused anyway is not checksummed. Only a complete batch gets here,
        // so a client that streams an oversized batch learns TooLarge once its bytes are in; a
        // framer that wants to refuse earlier reads batchLength itself (see ReadTotalLength).
        if (total > maxBatchBytes)
        {
            return BatchError.TooLarge;
        }

        if (buffer[Magic] != CurrentMagic)
        {
            return BatchError.UnsupportedMagic;
        }

        uint expected = BinaryPrimitives.ReadUInt32BigEndian(buffer[Crc..]);
        if (Crc32C.Compute(buffer[Attributes..total]) != expected)
        {
            return BatchError.CrcMismatch;
        }

        return ParseChecked(buffer, total, out info);
    }

    /// <summary>
    /// Parses the header of the batch at the start of <paramref name="batch"/> with the same
    /// structural checks as <see cref="TryValidate"/> but without the CRC and size limit: for
    /// reading back data that was validated when it was written.
    /// </summary>
    public static BatchError TryReadInfo(ReadOnlySpan<byte> batch, out RecordBatchInfo info)
    {
        info = default;
        BatchError error = CheckFraming(batch, out int total);
        if (error != BatchError.None)
        {
            return error;
        }

        if (batch[Magic] != CurrentMagic)
        {
            return BatchError.UnsupportedMagic;
        }

        return ParseChecked(batch, total, out info);
    }

    /// <summary>
    /// Total length (batchLength + 12) announced by the header at the start of
    /// <paramref name="buffer"/>, or -1 when fewer than 12 bytes are present. Not validated: for
    /// framers that need to know how many bytes to wait for, and to refuse a too-large batch before
    /// buffering it. May exceed <see cref="int.MaxValue"/> for a lying header, hence <see cref="long"/>.
    /// </summary>
    public static long ReadTotalLength(ReadOnlySpan<byte> buffer) =>
        buffer.Length < LengthOverhead ? -1 : (long)BinaryPrimitives.ReadInt32BigEndian(buffer[BatchLength..]) + LengthOverhead;

    /// <summary>Reads the baseOffset field.</summary>
    public static long ReadBaseOffset(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt64BigEndian(batch[BaseOffset..]);

    /// <summary>
    /// Writes the baseOffset field. The CRC does not cover it, so the batch stays valid: the broker
    /// assigns offsets without re-checksumming.
    /// </summary>
    public static void StampBaseOffset(Span<byte> batch, long baseOffset) =>
        BinaryPrimitives.WriteInt64BigEndian(batch[BaseOffset..], baseOffset);

    /// <summary>Writes the partitionLeaderEpoch field (outside the CRC, like baseOffset).</summary>
    public static void StampPartitionLeaderEpoch(Span<byte> batch, int partitionLeaderEpoch) =>
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpoch..], partitionLeaderEpoch);

    /// <summary>
    /// What a broker does to a batch for a LogAppendTime topic: sets attributes bit 3 and
    /// maxTimestamp to the append time, then recomputes the CRC. firstTimestamp and the record
    /// deltas are left alone, as Kafka does; readers report every record's timestamp as
    /// maxTimestamp when the bit is set.
    /// </summary>
    /// <exception cref="ArgumentException">The span does not hold a whole batch.</exception>
    public static void SetMaxTimestampAndLogAppendTime(Span<byte> batch, long timestamp)
    {
        int total = RequireWholeBatch(batch);
        short attributes = BinaryPrimitives.ReadInt16BigEndian(batch[Attributes..]);
        BinaryPrimitives.WriteInt16BigEndian(batch[Attributes..], (short)(attributes | LogAppendTimeFlag));
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestamp..], timestamp);
        WriteCrc(batch, total);
    }

    /// <summary>Recomputes and writes the crc field after an edit of the CRC-covered bytes.</summary>
    /// <exception cref="ArgumentException">The span does not hold a whole batch.</exception>
    public static void RecomputeCrc(Span<byte> batch) => WriteCrc(batch, RequireWholeBatch(batch));

    internal static void WriteCrc(Span<byte> batch, int total) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[Crc..], Crc32C.Compute(batch[Attributes..total]));

    private static BatchError CheckFraming(ReadOnlySpan<byte> buffer, out int total)
    {
        total = 0;
        if (buffer.Length < HeaderSize)
        {
            return BatchError.TooShort;
        }

        int batchLength = BinaryPrimitives.ReadInt32BigEndian(buffer[BatchLength..]);
        // Compare in long: batchLength + 12 overflows int for a lying header.
        if (batchLength < MinBatchLength || (long)batchLength + LengthOverhead > buffer.Length)
        {
            return BatchError.LengthMismatch;
        }

        total = batchLength + LengthOverhead;
        return BatchError.None;
    }

    private static BatchError ParseChecked(ReadOnlySpan<byte> batch, int total, out RecordBatchInfo info)
    {
        info = new RecordBatchInfo(batch, total);
        if ((byte)info.Compression > (byte)CompressionCodec.Zstd)
        {
            info = default;
            return BatchError.InvalidCompression;
        }

        // Offsets inside a batch are distinct and ascending from 0, so count records need
        // lastOffsetDelta >= count - 1 (greater after compaction removed some). Uncompressed
        // records take at least MinRecordSize bytes each, which bounds a lying count early.
        int count = info.RecordCount;
        bool countFits = info.Compression != CompressionCodec.None || count <= (total - HeaderSize) / MinRecordSize;
        if (count < 1 || info.LastOffsetDelta < count - 1 || !countFits)
        {
            info = default;
            return BatchError.InvalidRecordCount;
        }

        return BatchError.None;
    }

    private static int RequireWholeBatch(ReadOnlySpan<byte> batch)
    {
        if (CheckFraming(batch, out int total) != BatchError.None)
        {
            throw new ArgumentException("The span does not hold a whole RecordBatch (header and batchLength bytes).", nameof(batch));
        }

        return total;
    }
}
