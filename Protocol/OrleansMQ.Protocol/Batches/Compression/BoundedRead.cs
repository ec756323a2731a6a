using System.Buffers;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>
/// Reads a decompressing stream to its end into a pooled buffer that grows by doubling, never
/// past the cap: for codecs whose output size is not known up front (gzip, LZ4 frames and
/// Zstandard frames written without a content size).
/// </summary>
internal static class BoundedRead
{
    public static byte[] ReadAll(Stream source, int expected, int maxBytes, CompressionCodec codec, out int length)
    {
        int initial = (int)Math.Min(Math.Max(expected, 4096), maxBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(initial);
        int filled = 0;
        try
        {
            while (true)
            {
                // A rented array can be larger than asked for; never fill past the cap.
                int capacity = Math.Min(buffer.Length, maxBytes);
                if (filled == capacity)
                {
                    if (capacity == maxBytes)
                    {
                        Span<byte> probe = stackalloc byte[1];
                        if (source.Read(probe) != 0)
                        {
                            throw RecordsCodec.TooLarge(codec, maxBytes);
                        }

                        break;
                    }

                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes));
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                    continue;
                }

                int read = source.Read(buffer, filled, capacity - filled);
                if (read == 0)
                {
                    break;
                }

                filled += read;
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
