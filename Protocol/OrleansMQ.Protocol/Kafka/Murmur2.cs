using System.Buffers.Binary;

namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The Java client's key hashing: <c>Utils.murmur2</c> (MurmurHash2, seed 0x9747b28c) and
/// <c>Utils.toPositive(hash) % numPartitions</c>, so keyed records land on the partition a Java
/// producer (and librdkafka's <c>murmur2_random</c>) would choose.
/// </summary>
public static class Murmur2
{
    private const uint Seed = 0x9747b28c;
    private const uint M = 0x5bd1e995;
    private const int R = 24;

    /// <summary>Java's <c>Utils.murmur2(data)</c> as a signed int.</summary>
    public static int Hash(ReadOnlySpan<byte> data)
    {
        int length = data.Length;
        uint h = Seed ^ (uint)length;
        int blocks = length / 4;
        for (int i = 0; i < blocks; i++)
        {
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4, 4));
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        int tail = blocks * 4;
        switch (length & 3)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                h ^= (uint)data[tail + 1] << 8;
                h ^= data[tail];
                h *= M;
                break;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                h ^= data[tail];
                h *= M;
                break;
            case 1:
                h ^= data[tail];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return (int)h;
    }

    /// <summary>Java's <c>Utils.toPositive</c>: clears the sign bit (not <c>Math.Abs</c>).</summary>
    public static int ToPositive(int value) => value & 0x7fffffff;

    /// <summary>The partition for <paramref name="key"/> among <paramref name="partitionCount"/>.</summary>
    public static int Partition(ReadOnlySpan<byte> key, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        return ToPositive(Hash(key)) % partitionCount;
    }
}
