using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// Our own binary layout of the internal offsets partition's records (documented in
/// docs/broker.md). Big-endian integers; strings are int16 length + UTF-8 (-1 = null); bytes are
/// int32 length + data.
/// <code>
/// key   : int16 type (0 offset commit, 1 group metadata) | string group | (type 0) string topic | int32 partition
/// value : (type 0) int16 version 0 | int64 offset | int32 leader epoch | string? metadata | int64 commit ts | int64 expire ts
///         (type 1) int16 version 0 | string? protocol type | int32 generation | string? protocol | string? leader
///                  | int64 state ts | int32 n | n × (string member | string? instance | string client | string host
///                  | int32 rebalance ms | int32 session ms | bytes subscription | bytes assignment)
/// A null value is a tombstone (the offset or the group was deleted).
/// </code>
/// </summary>
public static class GroupRecordCodec
{
    private const short OffsetKeyType = 0;
    private const short MetadataKeyType = 1;
    private const short ValueVersion = 0;

    public static void WriteKey(IBufferWriter<byte> output, GroupLogRecord record)
    {
        var w = new Writer(output);
        switch (record)
        {
            case OffsetCommitRecord c:
                w.Int16(OffsetKeyType);
                w.String(c.GroupId);
                w.String(c.Topic);
                w.Int32(c.Partition);
                break;
            case GroupMetadataRecord m:
                w.Int16(MetadataKeyType);
                w.String(m.GroupId);
                break;
            default:
                throw new ArgumentException("Unknown record type.", nameof(record));
        }
    }

    /// <summary>Writes the value; returns false for a tombstone (nothing written).</summary>
    public static bool WriteValue(IBufferWriter<byte> output, GroupLogRecord record)
    {
        switch (record)
        {
            case OffsetCommitRecord { Value: { } v }:
                WriteOffset(output, v);
                return true;
            case GroupMetadataRecord { Value: { } m }:
                WriteMetadata(output, m);
                return true;
            default:
                return false;
        }
    }

    public static void WriteOffset(IBufferWriter<byte> output, CommittedOffset v)
    {
        var w = new Writer(output);
        w.Int16(ValueVersion);
        w.Int64(v.Offset);
        w.Int32(v.LeaderEpoch);
        w.String(v.Metadata);
        w.Int64(v.CommitTimestamp);
        w.Int64(v.ExpireTimestamp);
    }

    public static void WriteMetadata(IBufferWriter<byte> output, GroupMetadataValue m)
    {
        var w = new Writer(output);
        w.Int16(ValueVersion);
        w.String(m.ProtocolType);
        w.Int32(m.Generation);
        w.String(m.ProtocolName);
        w.String(m.Leader);
        w.Int64(m.StateTimestamp);
        w.Int32(m.Members.Count);
        foreach (var member in m.Members)
        {
            w.String(member.MemberId);
            w.String(member.GroupInstanceId);
            w.String(member.ClientId);
            w.String(member.ClientHost);
            w.Int32(member.RebalanceTimeoutMs);
            w.Int32(member.SessionTimeoutMs);
            w.Bytes(member.Subscription);
            w.Bytes(member.Assignment);
        }
    }

    /// <summary>Decodes one record; <paramref name="valueIsNull"/> marks a tombstone. Throws <see cref="FormatException"/> on bad bytes.</summary>
    public static GroupLogRecord Read(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        var k = new Reader(key);
        short type = k.Int16();
        string group = k.String() ?? throw new FormatException("Null group id in an offsets record key.");
        switch (type)
        {
            case OffsetKeyType:
                string topic = k.String() ?? throw new FormatException("Null topic in an offsets record key.");
                int partition = k.Int32();
                return new OffsetCommitRecord(group, topic, partition, valueIsNull ? null : ReadOffset(value));
            case MetadataKeyType:
                return new GroupMetadataRecord(group, valueIsNull ? null : ReadMetadata(value));
            default:
                throw new FormatException($"Unknown offsets record key type {type}.");
        }
    }

    public static CommittedOffset ReadOffset(ReadOnlySpan<byte> value)
    {
        var r = new Reader(value);
        return ReadOffset(ref r);
    }

    public static GroupMetadataValue ReadMetadata(ReadOnlySpan<byte> value)
    {
        var r = new Reader(value);
        return ReadMetadata(ref r);
    }

    internal static CommittedOffset ReadOffset(ref Reader r)
    {
        r.Version();
        return new CommittedOffset(r.Int64(), r.Int32(), r.String(), r.Int64(), r.Int64());
    }

    internal static GroupMetadataValue ReadMetadata(ref Reader r)
    {
        r.Version();
        string? protocolType = r.String();
        int generation = r.Int32();
        string? protocol = r.String();
        string? leader = r.String();
        long stateTs = r.Int64();
        int count = r.Count(minElementBytes: 24);
        var members = new List<StoredMember>(count);
        for (int i = 0; i < count; i++)
        {
            members.Add(new StoredMember(
                r.String() ?? "", r.String(), r.String() ?? "", r.String() ?? "", r.Int32(), r.Int32(), r.Bytes(), r.Bytes()));
        }

        return new GroupMetadataValue(protocolType, generation, protocol, leader, stateTs, members);
    }

    internal readonly ref struct Writer(IBufferWriter<byte> output)
    {
        public void Int16(short v)
        {
            BinaryPrimitives.WriteInt16BigEndian(output.GetSpan(2), v);
            output.Advance(2);
        }

        public void Int32(int v)
        {
            BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), v);
            output.Advance(4);
        }

        public void Int64(long v)
        {
            BinaryPrimitives.WriteInt64BigEndian(output.GetSpan(8), v);
            output.Advance(8);
        }

        public void String(string? s)
        {
            if (s is null)
            {
                Int16(-1);
                return;
            }

            int n = Encoding.UTF8.GetByteCount(s);
            if (n > short.MaxValue)
            {
                throw new ArgumentException($"A string of {n} bytes is too long for an offsets record.");
            }

            Int16((short)n);
            Encoding.UTF8.GetBytes(s, output.GetSpan(n));
            output.Advance(n);
        }

        public void Bytes(ReadOnlySpan<byte> b)
        {
            Int32(b.Length);
            b.CopyTo(output.GetSpan(b.Length));
            output.Advance(b.Length);
        }
    }

    /// <summary>Bounds-checked reader: every length is checked against what is left before use.</summary>
    internal ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _bytes;
        private int _pos;

        public Reader(ReadOnlySpan<byte> bytes)
        {
            _bytes = bytes;
            _pos = 0;
        }

        public readonly int Remaining => _bytes.Length - _pos;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > Remaining)
            {
                throw new FormatException($"Offsets record truncated: needs {n} bytes at {_pos}, {Remaining} left.");
            }

            var s = _bytes.Slice(_pos, n);
            _pos += n;
            return s;
        }

        public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

        public void Version()
        {
            short v = Int16();
            if (v != ValueVersion)
            {
                throw new FormatException($"Unknown offsets record value version {v}.");
            }
        }

        public string? String()
        {
            short n = Int16();
            return n < 0 ? null : Encoding.UTF8.GetString(Take(n));
        }

        public byte[] Bytes() => Take(Int32()).ToArray();

        public int Count(int minElementBytes)
        {
            int n = Int32();
            if (n < 0 || (long)n * minElementBytes > Remaining)
            {
                throw new FormatException($"Offsets record claims {n} elements with {Remaining} bytes left.");
            }

            return n;
        }
    }
}
