using OrleansMQ.Protocol.Batches.Compression;

namespace OrleansMQ.Protocol.Batches;

/// <summary>Gets at the records section of a batch, decompressing it (all of Kafka's codecs) when needed.</summary>
public static class RecordBatchRecords
{
    /// <summary>Default cap on a decompressed records section: <see cref="RecordsCodec.DefaultMaxDecompressedBytes"/>.</summary>
    public const int DefaultMaxDecompressedBytes = RecordsCodec.DefaultMaxDecompressedBytes;

    /// <summary>
    /// Gets the uncompressed records of <paramref name="batch"/> in any of Kafka's codecs: a slice
    /// of the batch for <see cref="CompressionCodec.None"/>, else a copy decompressed by
    /// <see cref="RecordsCodec.Decompress"/> into a pooled buffer (sizes checked against
    /// <paramref name="maxDecompressedBytes"/> before buffers grow). Dispose the section (<c>using</c>).
    /// </summary>
    /// <param name="batch">The batch bytes, starting at baseOffset.</param>
    /// <param name="info">Its header, from <see cref="RecordBatch.TryValidate"/> or <see cref="RecordBatch.TryReadInfo"/>.</param>
    /// <param name="maxDecompressedBytes">Largest decompressed size accepted.</param>
    /// <exception cref="InvalidDataException">
    /// The compressed data is corrupt, decompresses past <paramref name="maxDecompressedBytes"/>,
    /// or the attributes name a codec Kafka does not define (5-7).
    /// </exception>
    /// <exception cref="ArgumentException"><paramref name="batch"/> is shorter than <paramref name="info"/> says.</exception>
    public static RecordsSection GetRecords(ReadOnlySpan<byte> batch, in RecordBatchInfo info, int maxDecompressedBytes = DefaultMaxDecompressedBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDecompressedBytes);
        if (info.TotalLength < RecordBatch.HeaderSize || batch.Length < info.TotalLength)
        {
            throw new ArgumentException($"The batch span holds {batch.Length} bytes but the header describes {info.TotalLength}.", nameof(batch));
        }

        ReadOnlySpan<byte> records = batch[RecordBatch.HeaderSize..info.TotalLength];
        if (info.Compression == CompressionCodec.None)
        {
            return new RecordsSection(records, info.RecordCount, null);
        }

        if (info.Compression > CompressionCodec.Zstd)
        {
            throw new InvalidDataException($"The batch names compression codec {(int)info.Compression}, which Kafka does not define.");
        }

        byte[] buffer = RecordsCodec.Decompress(info.Compression, records, maxDecompressedBytes, out int length);
        return new RecordsSection(buffer.AsSpan(0, length), info.RecordCount, buffer);
    }
}
