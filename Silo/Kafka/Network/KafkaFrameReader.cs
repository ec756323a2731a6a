using System.Buffers;
using System.Buffers.Binary;

namespace OrleansMQ.Silo.Kafka.Network;

internal enum FrameStatus
{
    /// <summary>Not a whole frame yet; read more.</summary>
    Incomplete,

    /// <summary>A whole frame was sliced off the buffer.</summary>
    Complete,

    /// <summary>The size prefix is negative or above the limit; close without reading the body.</summary>
    InvalidSize,
}

/// <summary>
/// Splits the request stream into frames. Every Kafka request on the wire is
/// <code>
///   +----------------------+------------------------------------------+
///   | size: int32, big-end | size bytes: request header + request body |
///   +----------------------+------------------------------------------+
/// </code>
/// The size is checked against the limit as soon as its 4 bytes are here, before any of the body
/// is waited for, so a hostile prefix costs 4 bytes of buffering.
/// </summary>
internal static class KafkaFrameReader
{
    public const int SizePrefixLength = 4;

    /// <param name="buffer">Unconsumed input; on <see cref="FrameStatus.Complete"/> it is advanced past the frame.</param>
    /// <param name="maxFrameBytes">Largest size accepted.</param>
    /// <param name="frame">The frame without its size prefix, on <see cref="FrameStatus.Complete"/>.</param>
    /// <param name="size">The size prefix once 4 bytes are here (also on <see cref="FrameStatus.InvalidSize"/>), else -1.</param>
    public static FrameStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out ReadOnlySequence<byte> frame, out int size)
    {
        frame = default;
        size = -1;
        if (buffer.Length < SizePrefixLength)
        {
            return FrameStatus.Incomplete;
        }

        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= SizePrefixLength)
        {
            size = BinaryPrimitives.ReadInt32BigEndian(first);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[SizePrefixLength];
            buffer.Slice(0, SizePrefixLength).CopyTo(prefix);
            size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        }

        if (size < 0 || size > maxFrameBytes)
        {
            return FrameStatus.InvalidSize;
        }

        if (buffer.Length - SizePrefixLength < size)
        {
            return FrameStatus.Incomplete;
        }

        frame = buffer.Slice(SizePrefixLength, size);
        buffer = buffer.Slice(frame.End);
        return FrameStatus.Complete;
    }
}
