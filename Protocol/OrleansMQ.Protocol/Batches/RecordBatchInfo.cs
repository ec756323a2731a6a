using System.Buffers.Binary;
using System.Globalization;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// The header fields of one Kafka RecordBatch v2, as parsed by <see cref="RecordBatch.TryValidate"/>
/// or <see cref="RecordBatch.TryReadInfo"/>. A plain copy of 61 bytes worth of fields; holds no
/// reference to the batch.
/// </summary>
public readonly struct RecordBatchInfo
{
    internal RecordBatchInfo(ReadOnlySpan<byte> batch, int totalLength)
    {
        TotalLength = totalLength;
        BaseOffset = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.BaseOffset..]);
        PartitionLeaderEpoch = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.PartitionLeaderEpoch..]);
        Crc = BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatch.Crc..]);
        Attributes = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatch.Attributes..]);
        LastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.LastOffsetDelta..]);
        FirstTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.FirstTimestamp..]);
        MaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.MaxTimestamp..]);
        ProducerId = BinaryPrimitives.ReadInt64BigEndian(batch[RecordBatch.ProducerId..]);
        ProducerEpoch = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatch.ProducerEpoch..]);
        BaseSequence = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.BaseSequence..]);
        RecordCount = BinaryPrimitives.ReadInt32BigEndian(batch[RecordBatch.RecordCount..]);
    }

    /// <summary>Bytes the batch occupies: the batchLength field + 12 (baseOffset and batchLength themselves).</summary>
    public int TotalLength { get; }

    /// <summary>The baseOffset field: offset of the first record (the broker stamps it on append).</summary>
    public long BaseOffset { get; }

    /// <summary>The partitionLeaderEpoch field (not covered by the CRC; the broker may overwrite it).</summary>
    public int PartitionLeaderEpoch { get; }

    /// <summary>The raw attributes field.</summary>
    public short Attributes { get; }

    /// <summary>Attributes bits 0-2.</summary>
    public CompressionCodec Compression => (CompressionCodec)(Attributes & RecordBatch.CompressionCodecMask);

    /// <summary>Attributes bit 3: timestamps are the broker's append time (MaxTimestamp), not the producer's.</summary>
    public bool IsLogAppendTime => (Attributes & RecordBatch.LogAppendTimeFlag) != 0;

    /// <summary>Attributes bit 4: the batch belongs to a transaction.</summary>
    public bool IsTransactional => (Attributes & RecordBatch.TransactionalFlag) != 0;

    /// <summary>Attributes bit 5: the batch holds a control record (transaction marker).</summary>
    public bool IsControl => (Attributes & RecordBatch.ControlFlag) != 0;

    /// <summary>Offset of the last record relative to <see cref="BaseOffset"/>.</summary>
    public int LastOffsetDelta { get; }

    /// <summary>Timestamp of the first record (ms); record timestamps are deltas from it.</summary>
    public long FirstTimestamp { get; }

    /// <summary>Largest record timestamp (ms), or the append time for LogAppendTime batches.</summary>
    public long MaxTimestamp { get; }

    /// <summary>Idempotent producer id, -1 for none.</summary>
    public long ProducerId { get; }

    /// <summary>Producer epoch, -1 for none.</summary>
    public short ProducerEpoch { get; }

    /// <summary>Sequence number of the first record, -1 for none.</summary>
    public int BaseSequence { get; }

    /// <summary>Number of records in the batch.</summary>
    public int RecordCount { get; }

    /// <summary>The crc field: CRC-32C of bytes [21, TotalLength).</summary>
    public uint Crc { get; }

    /// <summary>Offset of the last record: <see cref="BaseOffset"/> + <see cref="LastOffsetDelta"/>.</summary>
    public long LastOffset => BaseOffset + LastOffsetDelta;

    /// <inheritdoc/>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"RecordBatch(base={BaseOffset}, lastDelta={LastOffsetDelta}, count={RecordCount}, bytes={TotalLength}, codec={Compression}, ts={FirstTimestamp}..{MaxTimestamp}, pid={ProducerId}, epoch={ProducerEpoch}, seq={BaseSequence}, attrs=0x{Attributes:X4}, crc=0x{Crc:X8})");
}
