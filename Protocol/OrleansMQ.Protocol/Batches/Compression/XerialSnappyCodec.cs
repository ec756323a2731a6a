using System.Buffers;
using System.Buffers.Binary;
using Snappier;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>
/// Kafka's Snappy. The Java client writes snappy-java's (xerial) framing, which is not the
/// Snappy project's own framing format:
/// <code>
///  0  magic               8 bytes  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
///  8  version             int32    1
/// 12  compatible version  int32    1
/// 16  chunks: length int32 (big-endian), then that many bytes of one raw Snappy block
/// </code>
/// snappy-java cuts the input into 32 KiB chunks; so does this writer. librdkafka writes one raw
/// Snappy block without framing, and both readers (Java's and librdkafka's) accept either form,
/// so this reader takes both: the magic decides.
/// </summary>
internal static class XerialSnappyCodec
{
    private const int HeaderSize = 16;
    private const int ChunkSize = 32 * 1024;

    private static ReadOnlySpan<byte> Magic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    public static byte[] Compress(ReadOnlySpan<byte> records, int offset, out int length)
    {
        int chunks = Math.Max(1, (records.Length + ChunkSize - 1) / ChunkSize);
        long bound = (long)offset + HeaderSize + ((long)chunks * (4 + Snappy.GetMaxCompressedLength(ChunkSize)));
        if (bound > Array.MaxLength)
        {
            throw new InvalidOperationException("The compressed records would exceed the largest array size.");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)bound);
        Span<byte> span = buffer;
        int p = offset;
        Magic.CopyTo(span[p..]);
        BinaryPrimitives.WriteInt32BigEndian(span[(p + 8)..], 1);
        BinaryPrimitives.WriteInt32BigEndian(span[(p + 12)..], 1);
        p += HeaderSize;
        for (int start = 0; start < records.Length; start += ChunkSize)
        {
            ReadOnlySpan<byte> chunk = records.Slice(start, Math.Min(ChunkSize, records.Length - start));
            int written = Snappy.Compress(chunk, span[(p + 4)..]);
            BinaryPrimitives.WriteInt32BigEndian(span[p..], written);
            p += 4 + written;
        }

        length = p;
        return buffer;
    }

    public static byte[] Decompress(ReadOnlySpan<byte> compressed, int maxBytes, out int length)
    {
        if (compressed.Length < HeaderSize || !compressed[..Magic.Length].SequenceEqual(Magic))
        {
            return DecompressRaw(compressed, maxBytes, out length);
        }

        // Pass 1: every chunk's length and uncompressed size, so the total is checked against
        // the cap before anything is rented.
        long total = 0;
        ReadOnlySpan<byte> chunks = compressed[HeaderSize..];
        while (chunks.Length > 0)
        {
            ReadOnlySpan<byte> chunk = NextChunk(ref chunks);
            total += Snappy.GetUncompressedLength(chunk);
            if (total > maxBytes)
            {
                throw RecordsCodec.TooLarge(CompressionCodec.Snappy, maxBytes);
            }
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        try
        {
            int filled = 0;
            chunks = compressed[HeaderSize..];
            while (chunks.Length > 0)
            {
                filled += Snappy.Decompress(NextChunk(ref chunks), buffer.AsSpan(filled, (int)total - filled));
            }

            length = filled;
            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static ReadOnlySpan<byte> NextChunk(ref ReadOnlySpan<byte> chunks)
    {
        if (chunks.Length < 4)
        {
            throw new InvalidDataException($"The Snappy records section ends inside a chunk length ({chunks.Length} bytes left).");
        }

        int size = BinaryPrimitives.ReadInt32BigEndian(chunks);
        if (size < 0 || size > chunks.Length - 4)
        {
            throw new InvalidDataException($"A Snappy chunk claims {size} bytes; {chunks.Length - 4} remain.");
        }

        ReadOnlySpan<byte> chunk = chunks.Slice(4, size);
        chunks = chunks[(4 + size)..];
        return chunk;
    }

    private static byte[] DecompressRaw(ReadOnlySpan<byte> compressed, int maxBytes, out int length)
    {
        int size = Snappy.GetUncompressedLength(compressed);
        if (size > maxBytes)
        {
            throw RecordsCodec.TooLarge(CompressionCodec.Snappy, maxBytes);
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            length = Snappy.Decompress(compressed, buffer.AsSpan(0, size));
            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}
