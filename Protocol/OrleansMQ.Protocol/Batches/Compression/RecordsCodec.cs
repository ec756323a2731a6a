using System.Buffers;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>
/// The one codec API for a RecordBatch's records section, used by the managed producer
/// (compress), the managed consumer and the silo (decompress, through
/// <see cref="RecordBatchRecords.GetRecords"/>).
/// Every buffer it returns is rented from <see cref="ArrayPool{T}.Shared"/>; the caller returns it.
/// Wire forms are the ones Kafka's Java client writes: gzip (RFC 1952), Snappy in xerial
/// (snappy-java) framing, the LZ4 frame format with independent 64 KiB blocks, and a Zstandard
/// frame. Raw (unframed) Snappy, which librdkafka writes, is read too.
/// </summary>
public static class RecordsCodec
{
    /// <summary>
    /// Default cap on a decompressed records section (64 MiB). Kafka batches are limited to a few
    /// MiB compressed; the cap stops a small "bomb" from taking the process's memory.
    /// </summary>
    public const int DefaultMaxDecompressedBytes = 64 * 1024 * 1024;

    /// <summary>
    /// Compresses <paramref name="records"/> into a pooled buffer, after <paramref name="offset"/>
    /// bytes left free for the caller (the 61-byte batch header). Returns the buffer; the bytes
    /// written end at <paramref name="length"/> (offset included). Return the buffer to
    /// <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="codec"/> is <see cref="CompressionCodec.None"/> or unknown.</exception>
    public static byte[] Compress(CompressionCodec codec, ReadOnlySpan<byte> records, int offset, out int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return codec switch
        {
            CompressionCodec.Gzip => GzipCodec.Compress(records, offset, out length),
            CompressionCodec.Snappy => XerialSnappyCodec.Compress(records, offset, out length),
            CompressionCodec.Lz4 => Lz4FrameCodec.Compress(records, offset, out length),
            CompressionCodec.Zstd => ZstdCodec.Compress(records, offset, out length),
            _ => throw new ArgumentException($"{codec} is not a compression codec.", nameof(codec)),
        };
    }

    /// <summary>
    /// Decompresses a records section into a pooled buffer holding <paramref name="length"/>
    /// bytes. Sizes are checked against <paramref name="maxDecompressedBytes"/> before buffers
    /// grow, so a crafted batch cannot make it allocate more than that. Return the buffer to
    /// <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is corrupt, or decompresses past <paramref name="maxDecompressedBytes"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="codec"/> is <see cref="CompressionCodec.None"/> or unknown.</exception>
    public static byte[] Decompress(CompressionCodec codec, ReadOnlySpan<byte> compressed, int maxDecompressedBytes, out int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDecompressedBytes);
        if (compressed.IsEmpty)
        {
            // A batch with records has a non-empty section; some decoders would read nothing as nothing.
            throw new InvalidDataException($"The {codec} records section is empty.");
        }

        if (codec is not (CompressionCodec.Gzip or CompressionCodec.Snappy or CompressionCodec.Lz4 or CompressionCodec.Zstd))
        {
            throw new ArgumentException($"{codec} is not a compression codec.", nameof(codec));
        }

        try
        {
            return codec switch
            {
                CompressionCodec.Gzip => GzipCodec.Decompress(compressed, maxDecompressedBytes, out length),
                CompressionCodec.Snappy => XerialSnappyCodec.Decompress(compressed, maxDecompressedBytes, out length),
                CompressionCodec.Lz4 => Lz4FrameCodec.Decompress(compressed, maxDecompressedBytes, out length),
                _ => ZstdCodec.Decompress(compressed, maxDecompressedBytes, out length),
            };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !ex.Data.Contains(SizeLimitKey))
        {
            // The libraries throw their own types (InvalidData, EndOfStream, Argument, IndexOutOfRange
            // on truncated input); callers handle one: corrupt data, named by codec.
            throw new InvalidDataException($"The {codec} records section is corrupt: {ex.Message}", ex);
        }
    }

    // Marks the cap's own exception, which passes through as it is (not rewrapped as "corrupt").
    private const string SizeLimitKey = "OrleansMQ.MaxDecompressedBytes";

    internal static InvalidDataException TooLarge(CompressionCodec codec, int maxBytes)
    {
        var error = new InvalidDataException($"The {codec} records section decompresses past the {maxBytes}-byte limit.");
        error.Data[SizeLimitKey] = maxBytes;
        return error;
    }
}
