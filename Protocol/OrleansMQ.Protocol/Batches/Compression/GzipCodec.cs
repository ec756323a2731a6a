using System.Buffers;
using System.Buffers.Binary;
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
            byte[] buffer = BoundedRead.ReadAll(gzip, (int)Math.Min((long)compressed.Length * 4, int.MaxValue), maxBytes, CompressionCodec.Gzip, out length);

            // GZipStream ends quietly when the input stops early; the trailer's ISIZE (the
            // uncompressed length mod 2^32, RFC 1952 section 2.3.1) tells a truncated stream. Kafka's
            // clients write a single member, so the last trailer covers everything.
            if (compressed.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(compressed[^4..]) != (uint)length)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw new InvalidDataException($"The gzip stream is truncated: {length} bytes inflated, the trailer does not match.");
            }

            return buffer;
        }
    }
}
