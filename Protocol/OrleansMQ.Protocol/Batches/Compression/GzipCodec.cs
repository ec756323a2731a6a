using System.IO.Compression;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>Kafka's gzip: the records section is one RFC 1952 stream (BCL <see cref="GZipStream"/>).</summary>
internal static class GzipCodec
{
    public static byte[] Compress(ReadOnlySpan<byte> records, int offset, out int length)
    {
        using var output = new PooledOutput(offset, (records.Length / 2) + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(records);
        }

        return output.Detach(out length);
    }

    public static unsafe byte[] Decompress(ReadOnlySpan<byte> compressed, int maxBytes, out int length)
    {
        fixed (byte* p = compressed)
        {
            using var input = new UnmanagedMemoryStream(p, compressed.Length);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);

            // Start at 4x the compressed size (typical ratios for text-like payloads) and double.
            return BoundedRead.ReadAll(gzip, (int)Math.Min((long)compressed.Length * 4, int.MaxValue), maxBytes, CompressionCodec.Gzip, out length);
        }
    }
}
