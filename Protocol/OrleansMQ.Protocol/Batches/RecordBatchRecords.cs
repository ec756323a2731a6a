using System.Buffers;
using System.IO.Compression;

namespace OrleansMQ.Protocol.Batches;

/// <summary>Gets at the records section of a batch, decompressing it when the BCL can.</summary>
public static class RecordBatchRecords
{
    /// <summary>
    /// Default cap on a decompressed records section (64 MiB). Kafka batches are limited to a few
    /// MiB compressed; the cap stops a small gzip "bomb" from taking the broker's memory.
    /// </summary>
    public const int DefaultMaxDecompressedBytes = 64 * 1024 * 1024;

    /// <summary>
    /// Gets the uncompressed records of <paramref name="batch"/> with the
    /// <see cref="DefaultMaxDecompressedBytes"/> cap.
    /// </summary>
    /// <inheritdoc cref="TryGetRecords(ReadOnlySpan{byte}, in RecordBatchInfo, int, out RecordsSection)"/>
    public static bool TryGetRecords(ReadOnlySpan<byte> batch, in RecordBatchInfo info, out RecordsSection section) =>
        TryGetRecords(batch, info, DefaultMaxDecompressedBytes, out section);

    /// <summary>
    /// Gets the uncompressed records of <paramref name="batch"/>: a slice for
    /// <see cref="CompressionCodec.None"/>, a pooled decompressed copy for
    /// <see cref="CompressionCodec.Gzip"/>. Returns false for Snappy, LZ4 and Zstd, which the BCL
    /// cannot decode. Dispose the section.
    /// </summary>
    /// <param name="batch">The batch bytes, starting at baseOffset.</param>
    /// <param name="info">Its header, from <see cref="RecordBatch.TryValidate"/> or <see cref="RecordBatch.TryReadInfo"/>.</param>
    /// <param name="maxDecompressedBytes">Largest decompressed size accepted.</param>
    /// <param name="section">The records; default when false is returned.</param>
    /// <exception cref="InvalidDataException">The gzip data is corrupt or inflates past <paramref name="maxDecompressedBytes"/>.</exception>
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
                byte[] buffer = Gunzip(records, maxDecompressedBytes, out int length);
                section = new RecordsSection(buffer.AsSpan(0, length), info.RecordCount, buffer);
                return true;
            default:
                section = default;
                return false;
        }
    }

    private static unsafe byte[] Gunzip(ReadOnlySpan<byte> compressed, int maxBytes, out int length)
    {
        // Start at 4x the compressed size (typical ratios for text-like payloads) and double.
        int initial = (int)Math.Min(Math.Max((long)compressed.Length * 4, 4096), maxBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(initial);
        int filled = 0;
        try
        {
            fixed (byte* p = compressed)
            {
                using var input = new UnmanagedMemoryStream(p, compressed.Length);
                using var gzip = new GZipStream(input, CompressionMode.Decompress);
                while (true)
                {
                    // A rented array can be larger than asked for; never fill past the cap.
                    int capacity = Math.Min(buffer.Length, maxBytes);
                    if (filled == capacity)
                    {
                        if (capacity == maxBytes)
                        {
                            Span<byte> probe = stackalloc byte[1];
                            if (gzip.Read(probe) != 0)
                            {
                                throw new InvalidDataException($"The gzip records section inflates past the {maxBytes}-byte limit.");
                            }

                            break;
                        }

                        byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes));
                        buffer.AsSpan(0, filled).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                        continue;
                    }

                    int read = gzip.Read(buffer, filled, capacity - filled);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        length = filled;
        return buffer;
    }
}
