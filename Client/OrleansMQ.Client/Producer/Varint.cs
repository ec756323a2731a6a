using System.Numerics;

namespace OrleansMQ.Client.Producer;

/// <summary>Kafka's zig-zag varints (record fields), sized and written into spans.</summary>
internal static class Varint
{
    public static int SizeOf(long value)
    {
        ulong v = (ulong)((value << 1) ^ (value >> 63));
        return ((63 - BitOperations.LeadingZeroCount(v | 1)) / 7) + 1;
    }

    public static int Write(Span<byte> destination, long value)
    {
        ulong v = (ulong)((value << 1) ^ (value >> 63));
        int i = 0;
        while (v >= 0x80)
        {
            destination[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        destination[i++] = (byte)v;
        return i;
    }
}
