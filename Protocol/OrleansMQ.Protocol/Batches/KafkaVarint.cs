using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Kafka's variable-length integers: zigzag-encoded (so -1 is one byte), then base-128 with the
/// continuation bit in bit 7, least significant group first (the protobuf encoding). An int takes
/// at most 5 bytes, a long at most 10.
/// </summary>
public static class KafkaVarint
{
    public const int MaxInt32Bytes = 5;
    public const int MaxInt64Bytes = 10;

    /// <summary>Reads a zigzag varint at <paramref name="position"/> and advances it.</summary>
    /// <exception cref="InvalidDataException">The varint runs past the span or is longer than 5 bytes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ReadInt32(ReadOnlySpan<byte> data, ref int position)
    {
        int pos = position;
        if ((uint)pos < (uint)data.Length && data[pos] < 0x80)
        {
            // One-byte fast path: lengths of small keys, deltas, header counts.
            position = pos + 1;
            uint z = data[pos];
            return (int)(z >> 1) ^ -(int)(z & 1);
        }

        return ReadInt32Slow(data, ref position);
    }

    private static int ReadInt32Slow(ReadOnlySpan<byte> data, ref int position)
    {
        uint value = 0;
        int pos = position;
        for (int shift = 0; shift < 35; shift += 7)
        {
            if ((uint)pos >= (uint)data.Length)
            {
                ThrowTruncated();
            }

            byte b = data[pos++];
            if (shift == 28 && b > 0x0F)
            {
                ThrowTooLong("varint", MaxInt32Bytes);
            }

            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                position = pos;
                return (int)(value >> 1) ^ -(int)(value & 1);
            }
        }

        ThrowTooLong("varint", MaxInt32Bytes);
        return 0;
    }

    /// <summary>Reads a zigzag varlong at <paramref name="position"/> and advances it.</summary>
    /// <exception cref="InvalidDataException">The varlong runs past the span or is longer than 10 bytes.</exception>
    public static long ReadInt64(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        int pos = position;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if ((uint)pos >= (uint)data.Length)
            {
                ThrowTruncated();
            }

            byte b = data[pos++];
            if (shift == 63 && b > 0x01)
            {
                ThrowTooLong("varlong", MaxInt64Bytes);
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                position = pos;
                return (long)(value >> 1) ^ -(long)(value & 1);
            }
        }

        ThrowTooLong("varlong", MaxInt64Bytes);
        return 0;
    }

    public static int SizeOf(int value) => SizeOfUnsigned((uint)((value << 1) ^ (value >> 31)));

    public static int SizeOf(long value)
    {
        ulong z = (ulong)((value << 1) ^ (value >> 63));
        int size = 1;
        while (z >= 0x80)
        {
            z >>= 7;
            size++;
        }

        return size;
    }

    /// <summary>Writes a zigzag varint; returns the bytes written. The span must have room (<see cref="SizeOf(int)"/>).</summary>
    public static int Write(Span<byte> destination, int value)
    {
        uint z = (uint)((value << 1) ^ (value >> 31));
        int i = 0;
        while (z >= 0x80)
        {
            destination[i++] = (byte)(z | 0x80);
            z >>= 7;
        }

        destination[i++] = (byte)z;
        return i;
    }

    /// <summary>Writes a zigzag varlong; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, long value)
    {
        ulong z = (ulong)((value << 1) ^ (value >> 63));
        int i = 0;
        while (z >= 0x80)
        {
            destination[i++] = (byte)(z | 0x80);
            z >>= 7;
        }

        destination[i++] = (byte)z;
        return i;
    }

    private static int SizeOfUnsigned(uint z)
    {
        int size = 1;
        while (z >= 0x80)
        {
            z >>= 7;
            size++;
        }

        return size;
    }

    [DoesNotReturn]
    private static void ThrowTruncated() =>
        throw new InvalidDataException("A Kafka varint runs past the end of its record.");

    [DoesNotReturn]
    private static void ThrowTooLong(string kind, int maxBytes) =>
        throw new InvalidDataException($"A Kafka {kind} is longer than {maxBytes} bytes or overflows.");
}
