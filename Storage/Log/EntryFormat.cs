using System.Buffers.Binary;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Storage.Log;

/// <summary>
/// The CommitLog entry header (docs/storage-format.md). Little-endian, 48 bytes, followed by the
/// RecordBatch bytes as the producer sent them (with baseOffset stamped).
/// <code>
///  0 length  4 magic  8 crc  12 partition  16 baseOffset  24 count  28 flags  32 firstTs  40 maxTs  48 batch...
/// </code>
/// The entry CRC-32C covers header bytes [12,48) and batch bytes [0,21): exactly the bytes the
/// batch's own CRC-32C (which covers batch bytes [21,end)) leaves out. Together the two checksums
/// cover the whole entry, and the writer only checksums 57 bytes inside the put lock instead of
/// re-reading the whole batch.
/// </summary>
/// <remarks>
/// <para>A <b>truncation marker</b> is a header alone (length 48, magic "OMQT", no batch): it tells the
/// dispatcher, in log order, to cut partition <c>part</c> back to offset <c>baseOffset</c> (Kafka's
/// follower truncation; <c>flags</c> 0), to empty it and start it at <c>baseOffset</c> (Kafka's
/// truncateFullyAndStartAt; <c>flags</c> 1), or to move its log start up to <c>baseOffset</c> (Kafka's
/// DeleteRecords; <c>flags</c> 2). <c>count</c> is 0, both timestamps -1, and its CRC-32C
/// covers header bytes [12,48) only. Readers never see it: no ConsumeQueue entry points at it.</para>
/// </remarks>
internal static class EntryFormat
{
    public const int HeaderSize = 48;
    public const uint DataMagic = 0x31514D4F;  // "OMQ1"
    public const uint BlankMagic = 0x4B4E4C42; // "BLNK"
    public const uint TruncateMagic = 0x54514D4F; // "OMQT"
    public const int MinBlankSize = 8;

    public const int LengthOffset = 0;
    public const int MagicOffset = 4;
    public const int CrcOffset = 8;
    public const int PartitionOffset = 12;
    public const int BaseOffsetOffset = 16;
    public const int CountOffset = 24;
    public const int FlagsOffset = 28;
    public const int FirstTimestampOffset = 32;
    public const int MaxTimestampOffset = 40;

    /// <summary>Batch bytes not covered by the batch's own CRC (baseOffset .. crc field).</summary>
    public const int BatchUncoveredPrefix = 21;

    /// <summary>Smallest possible data entry: header plus a RecordBatch v2 header.</summary>
    public const int MinDataEntrySize = HeaderSize + RecordBatch.HeaderSize;

    public static void WriteHeader(Span<byte> entry, int length, int partitionId, long baseOffset, int count, int flags, long firstTimestamp, long maxTimestamp)
    {
        BinaryPrimitives.WriteInt32LittleEndian(entry[LengthOffset..], length);
        BinaryPrimitives.WriteInt32LittleEndian(entry[PartitionOffset..], partitionId);
        BinaryPrimitives.WriteInt64LittleEndian(entry[BaseOffsetOffset..], baseOffset);
        BinaryPrimitives.WriteInt32LittleEndian(entry[CountOffset..], count);
        BinaryPrimitives.WriteInt32LittleEndian(entry[FlagsOffset..], flags);
        BinaryPrimitives.WriteInt64LittleEndian(entry[FirstTimestampOffset..], firstTimestamp);
        BinaryPrimitives.WriteInt64LittleEndian(entry[MaxTimestampOffset..], maxTimestamp);
    }

    /// <summary>CRC over the header tail and the uncovered batch prefix; the entry must be fully written.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> entry)
    {
        uint crc = Crc32C.Append(0, entry[PartitionOffset..HeaderSize]);
        return Crc32C.Append(crc, entry.Slice(HeaderSize, BatchUncoveredPrefix));
    }

    /// <summary>Truncation marker flags: cut the tail back to the offset.</summary>
    public const int TruncateTail = 0;

    /// <summary>Truncation marker flags: empty the partition and start it at the offset.</summary>
    public const int TruncateFully = 1;

    /// <summary>Truncation marker flags: move the log start up to the offset (DeleteRecords).</summary>
    public const int TruncateHead = 2;

    /// <summary>Writes a whole truncation marker (header only) for <paramref name="partitionId"/> at <paramref name="offset"/>.</summary>
    public static void WriteTruncationMarker(Span<byte> entry, int partitionId, long offset, int kind)
    {
        WriteHeader(entry, HeaderSize, partitionId, offset, 0, kind, -1, -1);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[CrcOffset..], Crc32C.Compute(entry[PartitionOffset..HeaderSize]));
        BinaryPrimitives.WriteUInt32LittleEndian(entry[MagicOffset..], TruncateMagic);
    }

    /// <summary>Is this (whole, 48-byte) truncation marker intact? Null when so, else why not.</summary>
    public static string? CheckTruncationMarker(ReadOnlySpan<byte> entry) =>
        entry.Length != HeaderSize ? $"truncation marker length {entry.Length} is not {HeaderSize}"
        : Crc32C.Compute(entry[PartitionOffset..HeaderSize]) != ReadCrc(entry) ? "truncation marker checksum mismatch"
        : ReadBaseOffset(entry) < 0 || ReadCount(entry) != 0 || (uint)ReadFlags(entry) > TruncateHead ? "truncation marker fields out of range"
        : null;

    public static int ReadLength(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt32LittleEndian(entry);

    public static uint ReadMagic(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadUInt32LittleEndian(entry[MagicOffset..]);

    public static uint ReadCrc(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadUInt32LittleEndian(entry[CrcOffset..]);

    public static int ReadPartition(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt32LittleEndian(entry[PartitionOffset..]);

    public static long ReadBaseOffset(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt64LittleEndian(entry[BaseOffsetOffset..]);

    public static int ReadCount(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt32LittleEndian(entry[CountOffset..]);

    public static int ReadFlags(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt32LittleEndian(entry[FlagsOffset..]);

    public static long ReadFirstTimestamp(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt64LittleEndian(entry[FirstTimestampOffset..]);

    public static long ReadMaxTimestamp(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadInt64LittleEndian(entry[MaxTimestampOffset..]);
}
