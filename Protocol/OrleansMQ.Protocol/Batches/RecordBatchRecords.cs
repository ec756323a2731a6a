using OrleansMQ.Protocol.Batches.Compression;

namespace OrleansMQ.Protocol.Batches;

/// <summary>Gets at the records section of a batch, decompressing it (all of Kafka's codecs) when needed.</summary>
public static class RecordBatchRecords
{
    /// <summary>Default cap on a decompressed records section: <see cref="RecordsCodec.DefaultMaxDecompressedBytes"/>.</summary>
    public const int DefaultMaxDecompressedBytes = RecordsCodec.DefaultMaxDecompressedBytes;

    /// <summary>
    /// Gets the uncompressed records of <paramref name="batch"/> with the
    /// <see cref="DefaultMaxDecompressedBytes"/> cap.
    /// </summary>
    /// <inheritdoc cref="TryGetRecords(ReadOnlySpan{byte}, in RecordBatchInfo, int, out RecordsSection)"/>
    public static bool TryGetRecords(ReadOnlySpan<byte> batch, in RecordBatchInfo info, out RecordsSection section) =>
        TryGetRecords(batch, info, DefaultMaxDecompressedBytes, out section);

    /// <summary>
    /// Gets the uncompressed records of <paramref name="batch"/> when it is uncompressed or gzip:
    /// a slice for <see cref="CompressionCodec.None"/>, a pooled decompressed copy for
    /// <see cref="CompressionCodec.Gzip"/>. Returns false for Snappy, LZ4 and Zstd, so callers
    /// that skip those batches today (the storage key index, time lookup, REST browse) keep doing
    /// so until they move to <see cref="GetRecords"/>, which decodes every codec. Dispose the section.
    /// </summary>
    /// <param name="batch">The batch bytes, starting at baseOffset.</param>
    /// <param name="info">Its header, from <see cref="RecordBatch.TryValidate"/> or <see cref="RecordBatch.TryReadInfo"/>.</param>
    /// <param name="maxDecompressedBytes">Largest decompressed size accepted.</param>
    /// <param name="section">The records; default when false is returned.</param>
    /// <exception cref="InvalidDataException">The compressed data is corrupt or decompresses past <paramref name="maxDecompressedBytes"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="batch"/> is shorter than <paramref name="info"/> says.</exception>
    public static bool TryGetRecords(ReadOnlySpan<byte> batch, in RecordBatchInfo info, int maxDecompressedBytes, out RecordsSection section)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDecompressedBytes);
        if (info.TotalLength < RecordBatch.HeaderSize || batch.Length < info.TotalLength)
        {
            throw new ArgumentException($"The batch span holds {batch.Length} bytes but the header describes {info.TotalLength}.", nameof(batch));
        }

        ReadOnlySpan<byte> records = batch[RecordBatch.HeaderSize..info.TotalLength];
        switch (info.Compression)
        {
            case CompressionCodec.None:
                section = new RecordsSection(records, info.RecordCount, null);
                return true;
            case CompressionCodec.Gzip:
                byte[] buffer = RecordsCodec.Decompress(info.Compression, records, maxDecompressedBytes, out int length);
                section = new RecordsSection(buffer.AsSpan(0, length), info.RecordCount, buffer);
                return true;
            default:
                section = default;
                return false;
        }
    }

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
