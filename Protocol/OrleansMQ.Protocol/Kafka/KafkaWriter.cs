using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Writes Kafka protocol primitives, big-endian, into an <see cref="IBufferWriter{T}"/>
/// (the connection's response, or a test buffer). The layouts are the ones drawn on
/// <see cref="KafkaReader"/>.
/// </summary>
/// <remarks>
/// Every call asks the output for a fresh span and advances it at once; nothing is cached
/// between calls, so a caller may interleave its own writes to the same output (a Fetch
/// handler splicing a file region between two fields) without confusing this writer.
/// </remarks>
public ref struct KafkaWriter
{
    private const int CopyChunk = 64 * 1024;

    private readonly IBufferWriter<byte> _output;

    public KafkaWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        Written = 0;
    }

    /// <summary>The output this writer appends to.</summary>
    public readonly IBufferWriter<byte> Output => _output;

    /// <summary>Bytes written through this writer (not counting what others wrote to the output).</summary>
    public long Written { get; private set; }

    public void WriteInt8(sbyte value)
    {
        _output.GetSpan(1)[0] = (byte)value;
        Advance(1);
    }

    public void WriteUInt8(byte value)
    {
        _output.GetSpan(1)[0] = value;
        Advance(1);
    }

    public void WriteBoolean(bool value) => WriteUInt8(value ? (byte)1 : (byte)0);

    public void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_output.GetSpan(2), value);
        Advance(2);
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_output.GetSpan(4), value);
        Advance(4);
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_output.GetSpan(8), value);
        Advance(8);
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_output.GetSpan(4), value);
        Advance(4);
    }

    public void WriteFloat64(double value)
    {
        BinaryPrimitives.WriteDoubleBigEndian(_output.GetSpan(8), value);
        Advance(8);
    }

    public void WriteUnsignedVarInt(uint value)
    {
        var span = _output.GetSpan(5);
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        Advance(i);
    }

    public void WriteUnsignedVarLong(ulong value)
    {
        var span = _output.GetSpan(10);
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        Advance(i);
    }

    /// <summary>VARINT (zigzag).</summary>
    public void WriteVarInt(int value) => WriteUnsignedVarInt((uint)((value << 1) ^ (value >> 31)));

    /// <summary>VARLONG (zigzag).</summary>
    public void WriteVarLong(long value) => WriteUnsignedVarLong((ulong)((value << 1) ^ (value >> 63)));

    /// <summary>UUID: 16 bytes, most significant first.</summary>
    public void WriteUuid(Guid value)
    {
        if (!value.TryWriteBytes(_output.GetSpan(16), bigEndian: true, out int written) || written != 16)
        {
            throw new InvalidOperationException("Could not write a UUID.");
        }

        Advance(16);
    }

    /// <summary>STRING (int16 length).</summary>
    public void WriteString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        WriteNullableString(value);
    }

    /// <summary>NULLABLE_STRING (int16 length, -1 for null).</summary>
    public void WriteNullableString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }

        int length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new ArgumentException($"String of {length} UTF-8 bytes exceeds the int16 length limit.", nameof(value));
        }

        WriteInt16((short)length);
        WriteUtf8(value, length);
    }

    /// <summary>COMPACT_STRING (uvarint length+1).</summary>
    public void WriteCompactString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        WriteCompactNullableString(value);
    }

    /// <summary>COMPACT_NULLABLE_STRING (uvarint length+1, 0 for null).</summary>
    public void WriteCompactNullableString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarInt(0);
            return;
        }

        int length = Encoding.UTF8.GetByteCount(value);
        WriteUnsignedVarInt((uint)length + 1);
        WriteUtf8(value, length);
    }

    /// <summary>STRING or COMPACT_STRING.</summary>
    public void WriteString(string value, bool compact)
    {
        if (compact)
        {
            WriteCompactString(value);
        }
        else
        {
            WriteString(value);
        }
    }

    /// <summary>NULLABLE_STRING or COMPACT_NULLABLE_STRING.</summary>
    public void WriteNullableString(string? value, bool compact)
    {
        if (compact)
        {
            WriteCompactNullableString(value);
        }
        else
        {
            WriteNullableString(value);
        }
    }

    /// <summary>BYTES (int32 length).</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteInt32(value.Length);
        WriteRaw(value);
    }

    /// <summary>NULLABLE_BYTES (int32 length, -1 for null).</summary>
    public void WriteNullableBytes(ReadOnlyMemory<byte>? value)
    {
        if (value is null)
        {
            WriteInt32(-1);
            return;
        }

        WriteBytes(value.Value.Span);
    }

    /// <summary>COMPACT_BYTES (uvarint length+1).</summary>
    public void WriteCompactBytes(ReadOnlySpan<byte> value)
    {
        WriteUnsignedVarInt((uint)value.Length + 1);
        WriteRaw(value);
    }

    /// <summary>COMPACT_NULLABLE_BYTES (uvarint length+1, 0 for null).</summary>
    public void WriteCompactNullableBytes(ReadOnlyMemory<byte>? value)
    {
        if (value is null)
        {
            WriteUnsignedVarInt(0);
            return;
        }

        WriteCompactBytes(value.Value.Span);
    }

    /// <summary>BYTES or COMPACT_BYTES.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value, bool compact)
    {
        if (compact)
        {
            WriteCompactBytes(value);
        }
        else
        {
            WriteBytes(value);
        }
    }

    /// <summary>NULLABLE_BYTES or COMPACT_NULLABLE_BYTES (also RECORDS / COMPACT_RECORDS).</summary>
    public void WriteNullableBytes(ReadOnlyMemory<byte>? value, bool compact)
    {
        if (compact)
        {
            WriteCompactNullableBytes(value);
        }
        else
        {
            WriteNullableBytes(value);
        }
    }

    /// <summary>
    /// Only the length prefix of a (nullable) byte field, -1 for null: the caller then supplies
    /// exactly <paramref name="length"/> bytes itself (a file region, for record data).
    /// </summary>
    public void WriteBytesLength(int length, bool compact)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, -1);
        if (compact)
        {
            WriteUnsignedVarInt((uint)(length + 1));
        }
        else
        {
            WriteInt32(length);
        }
    }

    /// <summary>ARRAY count (int32; -1 for null).</summary>
    public void WriteArrayLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, -1);
        WriteInt32(count);
    }

    /// <summary>COMPACT_ARRAY count (uvarint N+1; -1 for null writes 0).</summary>
    public void WriteCompactArrayLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, -1);
        WriteUnsignedVarInt((uint)(count + 1));
    }

    /// <summary>ARRAY or COMPACT_ARRAY count; -1 for null.</summary>
    public void WriteArrayLength(int count, bool compact)
    {
        if (compact)
        {
            WriteCompactArrayLength(count);
        }
        else
        {
            WriteArrayLength(count);
        }
    }

    /// <summary>An empty tagged-field section (uvarint 0).</summary>
    public void WriteEmptyTaggedFields() => WriteUInt8(0);

    /// <summary>The header of one tagged field; the caller then writes exactly <paramref name="size"/> bytes.</summary>
    public void WriteTaggedFieldHeader(int tag, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tag);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        WriteUnsignedVarInt((uint)tag);
        WriteUnsignedVarInt((uint)size);
    }

    /// <summary>Raw bytes, copied in chunks so a large value never asks the output for one huge span.</summary>
    public void WriteRaw(ReadOnlySpan<byte> value)
    {
        while (!value.IsEmpty)
        {
            var span = _output.GetSpan(Math.Min(value.Length, CopyChunk));
            int n = Math.Min(span.Length, value.Length);
            value[..n].CopyTo(span);
            Advance(n);
            value = value[n..];
        }
    }

    /// <summary>Counts bytes another writer appended to the same output on this writer's behalf.</summary>
    internal void AddWritten(long count) => Written += count;

    /// <summary>The encoded size of an unsigned varint.</summary>
    public static int UnsignedVarIntSize(uint value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private void WriteUtf8(string value, int byteCount)
    {
        if (byteCount <= CopyChunk)
        {
            int written = Encoding.UTF8.GetBytes(value, _output.GetSpan(byteCount));
            Advance(written);
            return;
        }

        WriteRaw(Encoding.UTF8.GetBytes(value));
    }

    private void Advance(int count)
    {
        _output.Advance(count);
        Written += count;
    }
}
