using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>
/// Kafka's LZ4 is the LZ4 frame format (magic 0x184D2204), not raw LZ4 blocks. The Java client
/// writes 64 KiB independent blocks without block or content checksums and without a content
/// size, and its reader decodes each block on its own, so this writer does the same (K4os's
/// default chains blocks, which that reader could not decode).
/// </summary>
internal static class Lz4FrameCodec
{
    private const int BlockSize = 64 * 1024;

    private static readonly LZ4EncoderSettings Settings = new()
    {
        ChainBlocks = false,
        BlockSize = BlockSize,
        ContentChecksum = false,
        BlockChecksum = false,
        CompressionLevel = LZ4Level.L00_FAST,
    };

    private static readonly LZ4DecoderSettings DecoderSettings = new() { ExtraMemory = 0 };

    public static byte[] Compress(ReadOnlySpan<byte> records, int offset, out int length)
    {
        using var output = new PooledOutput(offset, (records.Length / 2) + 64);
        LZ4Frame.Encode(records, output, Settings);
        return output.Detach(out length);
    }

    public static unsafe byte[] Decompress(ReadOnlySpan<byte> compressed, int maxBytes, out int length)
    {
        fixed (byte* p = compressed)
        {
            using var input = new UnmanagedMemoryStream(p, compressed.Length);

            // The decoder's own buffer is one block (at most 4 MiB, the frame format's largest).
            using var lz4 = LZ4Stream.Decode(input, DecoderSettings, leaveOpen: true);
            return BoundedRead.ReadAll(lz4, (int)Math.Min((long)compressed.Length * 4, int.MaxValue), maxBytes, CompressionCodec.Lz4, out length);
        }
    }
}
