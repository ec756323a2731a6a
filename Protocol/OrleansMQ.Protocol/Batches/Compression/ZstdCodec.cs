using System.Buffers;
using ZstdSharp;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>
/// Kafka's Zstandard: the records section is zstd frame data. Compression contexts are costly
/// (about a megabyte each), so each thread keeps one compressor and one decompressor.
/// </summary>
internal static class ZstdCodec
{
    // Level 3 is zstd's default and Kafka's (compression.zstd.level).
    private const int Level = 3;

    [ThreadStatic]
    private static Compressor? t_compressor;

    [ThreadStatic]
    private static Decompressor? t_decompressor;

    public static byte[] Compress(ReadOnlySpan<byte> records, int offset, out int length)
    {
        t_compressor ??= new Compressor(Level);
        long bound = (long)offset + Compressor.GetCompressBound(records.Length);
        if (bound > Array.MaxLength)
        {
            throw new InvalidOperationException("The compressed records would exceed the largest array size.");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)bound);
        try
        {
            // One frame with the content size in its header: readers can size their buffer once.
            length = offset + t_compressor.Wrap(records, buffer.AsSpan(offset));
            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public static unsafe byte[] Decompress(ReadOnlySpan<byte> compressed, int maxBytes, out int length)
    {
        t_decompressor ??= new Decompressor();
        ulong declared = Decompressor.GetDecompressedSize(compressed);

        // A first frame that declares its size (ours; zstd's one-shot API) is checked against the
        // cap and decoded in one call; others (streamed frames, like zstd-jni's) and input with
        // further frames go through the bounded stream reader.
        if (declared > 0 && declared <= int.MaxValue)
        {
            if (declared > (ulong)maxBytes)
            {
                throw RecordsCodec.TooLarge(CompressionCodec.Zstd, maxBytes);
            }

            byte[] buffer = ArrayPool<byte>.Shared.Rent((int)declared);
            try
            {
                if (t_decompressor.TryUnwrap(compressed, buffer.AsSpan(0, (int)declared), out length))
                {
                    return buffer;
                }
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            // More output than the first frame declared (further frames follow): stream it.
            ArrayPool<byte>.Shared.Return(buffer);
        }

        fixed (byte* p = compressed)
        {
            using var input = new UnmanagedMemoryStream(p, compressed.Length);
            using var zstd = new DecompressionStream(input, leaveOpen: true);
            return BoundedRead.ReadAll(zstd, (int)Math.Min((long)compressed.Length * 4, int.MaxValue), maxBytes, CompressionCodec.Zstd, out length);
        }
    }
}
