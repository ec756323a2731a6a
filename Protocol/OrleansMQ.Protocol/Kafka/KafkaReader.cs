using System.Buffers.Binary;
using System.Text;

namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Reads Kafka protocol primitives, big-endian, from one request or response frame.
/// </summary>
/// <remarks>
/// <para>
/// Everything read is checked against what remains: a truncated frame, or a length or count that
/// cannot fit in the bytes left, throws <see cref="KafkaProtocolException"/> before anything is
/// sliced or allocated. Byte fields (<see cref="ReadBytes"/>, record data) come back as slices of
/// the frame's memory, never copies, so they live as long as the frame buffer does.
/// </para>
/// <para>
/// Primitive layouts (Kafka protocol guide, "Protocol Primitive Types"):
/// <code>
/// INT8/16/32/64, UINT32     fixed width, big-endian
/// VARINT / VARLONG          zigzag, then 7 bits a byte, low group first, high bit = more
/// UNSIGNED_VARINT           as above without zigzag (at most 5 bytes)
/// UUID                      16 bytes (most significant long, then least significant long)
/// STRING                    int16 length N, N UTF-8 bytes; NULLABLE_STRING: N = -1 is null
/// COMPACT_STRING            uvarint N+1, N bytes; COMPACT_NULLABLE_STRING: 0 is null
/// BYTES / NULLABLE_BYTES    int32 length (-1 null); COMPACT_(NULLABLE_)BYTES: uvarint N+1
/// ARRAY                     int32 count (-1 null); COMPACT_ARRAY: uvarint N+1 (0 null)
/// TAGGED_FIELDS             uvarint count, then per field: uvarint tag, uvarint size, bytes
/// </code>
/// </para>
/// </remarks>
public ref struct KafkaReader
{
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly ReadOnlySpan<byte> _span;
    private int _position;

    public KafkaReader(ReadOnlyMemory<byte> buffer)
    {
        _memory = buffer;
        _span = buffer.Span;
        _position = 0;
    }

    /// <summary>Bytes consumed so far.</summary>
    public readonly int Position => _position;

    /// <summary>Bytes not yet consumed.</summary>
    public readonly int Remaining => _span.Length - _position;

    /// <summary>True when every byte has been consumed.</summary>
    public readonly bool IsAtEnd => _position == _span.Length;

    /// <summary>The unread rest of the frame, without consuming it.</summary>
    public readonly ReadOnlyMemory<byte> RemainingMemory => _memory[_position..];

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public byte ReadUInt8() => Take(1)[0];

    /// <summary>BOOLEAN: one byte, 0 is false and anything else true (as Kafka reads it).</summary>
    public bool ReadBoolean() => Take(1)[0] != 0;

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    /// <summary>UNSIGNED_VARINT, at most 5 bytes.</summary>
    public uint ReadUnsignedVarInt()
    {
        uint value = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            byte b = Take(1)[0];
            if (shift == 28 && b > 0x0F)
            {
                throw new KafkaProtocolException("Unsigned varint overflows 32 bits.");
            }

            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new KafkaProtocolException("Unsigned varint is longer than 5 bytes.");
    }

    /// <summary>Unsigned varlong, at most 10 bytes.</summary>
    public ulong ReadUnsignedVarLong()
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = Take(1)[0];
            if (shift == 63 && b > 0x01)
            {
                throw new KafkaProtocolException("Unsigned varlong overflows 64 bits.");
            }

            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new KafkaProtocolException("Unsigned varlong is longer than 10 bytes.");
    }

    /// <summary>VARINT: zigzag-encoded signed 32-bit value.</summary>
    public int ReadVarInt()
    {
        uint raw = ReadUnsignedVarInt();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>VARLONG: zigzag-encoded signed 64-bit value.</summary>
    public long ReadVarLong()
    {
        ulong raw = ReadUnsignedVarLong();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>UUID: 16 bytes in the order Kafka writes them (most significant long first).</summary>
    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    /// <summary>STRING (int16 length); null is a protocol error.</summary>
    public string ReadString() =>
        ReadNullableString() ?? throw new KafkaProtocolException("Non-nullable string is null.");

    /// <summary>NULLABLE_STRING (int16 length, -1 is null).</summary>
    public string? ReadNullableString()
    {
        short length = ReadInt16();
        if (length < 0)
        {
            return length == -1 ? null : throw new KafkaProtocolException($"Invalid string length {length}.");
        }

        return Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>COMPACT_STRING (uvarint length+1); null is a protocol error.</summary>
    public string ReadCompactString() =>
        ReadCompactNullableString() ?? throw new KafkaProtocolException("Non-nullable compact string is null.");

    /// <summary>COMPACT_NULLABLE_STRING (uvarint length+1, 0 is null).</summary>
    public string? ReadCompactNullableString()
    {
        int length = ReadCompactLength("string");
        return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>STRING or COMPACT_STRING.</summary>
    public string ReadString(bool compact) => compact ? ReadCompactString() : ReadString();

    /// <summary>NULLABLE_STRING or COMPACT_NULLABLE_STRING.</summary>
    public string? ReadNullableString(bool compact) => compact ? ReadCompactNullableString() : ReadNullableString();

    /// <summary>BYTES (int32 length) as a slice of the frame; null is a protocol error.</summary>
    public ReadOnlyMemory<byte> ReadBytes() =>
        ReadNullableBytes() ?? throw new KafkaProtocolException("Non-nullable bytes are null.");

    /// <summary>NULLABLE_BYTES (int32 length, -1 is null) as a slice of the frame.</summary>
    public ReadOnlyMemory<byte>? ReadNullableBytes()
    {
        // Careful: a bare null here would convert through byte[] to an empty (non-null) memory.
        int length = ReadInt32();
        if (length == -1)
        {
            return null;
        }

        if (length < 0)
        {
            throw new KafkaProtocolException($"Invalid bytes length {length}.");
        }

        return ReadRawMemory(length);
    }

    /// <summary>COMPACT_BYTES (uvarint length+1) as a slice of the frame; null is a protocol error.</summary>
    public ReadOnlyMemory<byte> ReadCompactBytes() =>
        ReadCompactNullableBytes() ?? throw new KafkaProtocolException("Non-nullable compact bytes are null.");

    /// <summary>COMPACT_NULLABLE_BYTES / COMPACT_RECORDS (uvarint length+1, 0 is null) as a slice of the frame.</summary>
    public ReadOnlyMemory<byte>? ReadCompactNullableBytes()
    {
        int length = ReadCompactLength("bytes");
        if (length < 0)
        {
            return null;
        }

        return ReadRawMemory(length);
    }

    /// <summary>BYTES or COMPACT_BYTES.</summary>
    public ReadOnlyMemory<byte> ReadBytes(bool compact) => compact ? ReadCompactBytes() : ReadBytes();

    /// <summary>NULLABLE_BYTES or COMPACT_NULLABLE_BYTES (also RECORDS / COMPACT_RECORDS).</summary>
    public ReadOnlyMemory<byte>? ReadNullableBytes(bool compact) => compact ? ReadCompactNullableBytes() : ReadNullableBytes();

    /// <summary>
    /// ARRAY count (int32, -1 is null, returned as -1). A count that could not fit in the bytes
    /// left, at <paramref name="minElementSize"/> bytes an element, throws.
    /// </summary>
    public int ReadArrayLength(int minElementSize = 1)
    {
        int count = ReadInt32();
        if (count < 0)
        {
            return count == -1 ? -1 : throw new KafkaProtocolException($"Invalid array length {count}.");
        }

        CheckCount(count, minElementSize);
        return count;
    }

    /// <summary>COMPACT_ARRAY count (uvarint N+1, 0 is null, returned as -1), checked like <see cref="ReadArrayLength"/>.</summary>
    public int ReadCompactArrayLength(int minElementSize = 1)
    {
        int count = ReadCompactLength("array");
        if (count > 0)
        {
            CheckCount(count, minElementSize);
        }

        return count;
    }

    /// <summary>ARRAY or COMPACT_ARRAY count; -1 is null.</summary>
    public int ReadArrayLength(bool compact, int minElementSize = 1) =>
        compact ? ReadCompactArrayLength(minElementSize) : ReadArrayLength(minElementSize);

    /// <summary>A non-nullable array count; null is a protocol error.</summary>
    public int ReadNonNullArrayLength(bool compact, int minElementSize = 1)
    {
        int count = ReadArrayLength(compact, minElementSize);
        return count >= 0 ? count : throw new KafkaProtocolException("Non-nullable array is null.");
    }

    /// <summary>Reads a tagged-field section and ignores every field in it.</summary>
    public void SkipTaggedFields()
    {
        int count = ReadTaggedFieldCount();
        int previous = -1;
        for (int i = 0; i < count; i++)
        {
            _ = ReadTaggedField(ref previous);
        }
    }

    /// <summary>The number of fields in a tagged-field section (each at least 2 bytes).</summary>
    public int ReadTaggedFieldCount()
    {
        uint count = ReadUnsignedVarInt();
        if (count > (uint)Remaining / 2)
        {
            throw new KafkaProtocolException($"Tagged field count {count} exceeds the {Remaining} bytes left.");
        }

        return (int)count;
    }

    /// <summary>
    /// One tagged field: its tag and a reader over exactly its bytes. Tags must ascend
    /// (<paramref name="previousTag"/> carries the last one; start at -1).
    /// </summary>
    public TaggedField ReadTaggedField(ref int previousTag)
    {
        uint tag = ReadUnsignedVarInt();
        if (tag > int.MaxValue || (int)tag <= previousTag)
        {
            throw new KafkaProtocolException($"Tagged field {tag} is out of order or repeated.");
        }

        previousTag = (int)tag;
        uint size = ReadUnsignedVarInt();
        if (size > (uint)Remaining)
        {
            throw new KafkaProtocolException($"Tagged field {tag} claims {size} bytes but {Remaining} remain.");
        }

        return new TaggedField((int)tag, ReadRawMemory((int)size));
    }

    /// <summary>Consumes <paramref name="count"/> bytes and returns them as a slice of the frame.</summary>
    public ReadOnlyMemory<byte> ReadRawMemory(int count)
    {
        CheckAvailable(count);
        var slice = _memory.Slice(_position, count);
        _position += count;
        return slice;
    }

    /// <summary>Consumes <paramref name="count"/> bytes.</summary>
    public void Skip(int count)
    {
        CheckAvailable(count);
        _position += count;
    }

    /// <summary>Throws unless every byte has been consumed (a frame with trailing garbage).</summary>
    public readonly void EnsureEnd(string what)
    {
        if (!IsAtEnd)
        {
            throw new KafkaProtocolException($"{what} has {Remaining} unexpected trailing bytes.");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        CheckAvailable(count);
        var slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }

    private readonly void CheckAvailable(int count)
    {
        if ((uint)count > (uint)Remaining)
        {
            throw new KafkaProtocolException(
                count < 0
                    ? $"Invalid length {count}."
                    : $"Truncated frame: needed {count} bytes at offset {_position}, {Remaining} remain.");
        }
    }

    private readonly void CheckCount(int count, int minElementSize)
    {
        if ((long)count * Math.Max(minElementSize, 1) > Remaining)
        {
            throw new KafkaProtocolException(
                $"Array count {count} cannot fit in the {Remaining} bytes left at offset {_position}.");
        }
    }

    /// <summary>uvarint N+1 as N (-1 for null), checked to fit in an int.</summary>
    private int ReadCompactLength(string what)
    {
        uint raw = ReadUnsignedVarInt();
        if (raw == 0)
        {
            return -1;
        }

        uint length = raw - 1;
        if (length > (uint)Remaining)
        {
            throw new KafkaProtocolException(
                $"Compact {what} length {length} exceeds the {Remaining} bytes left at offset {_position}.");
        }

        return (int)length;
    }
}
