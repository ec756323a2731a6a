using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

public sealed class PrimitiveTests
{
    [Theory]
    [InlineData(0u, "00")]
    [InlineData(1u, "01")]
    [InlineData(127u, "7F")]
    [InlineData(128u, "8001")]
    [InlineData(300u, "AC02")]
    [InlineData(16383u, "FF7F")]
    [InlineData(16384u, "808001")]
    [InlineData(uint.MaxValue, "FFFFFFFF0F")]
    public void Unsigned_varint_has_the_documented_encoding(uint value, string hex)
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) => w.WriteUnsignedVarInt(value));
        Assert.Equal(CodecTestKit.Hex(hex), bytes);
        Assert.Equal(bytes.Length, KafkaWriter.UnsignedVarIntSize(value));
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadUnsignedVarInt());
        Assert.True(reader.IsAtEnd);
    }

    [Theory]
    [InlineData(0, "00")]
    [InlineData(-1, "01")]
    [InlineData(1, "02")]
    [InlineData(-2, "03")]
    [InlineData(63, "7E")]
    [InlineData(-64, "7F")]
    [InlineData(64, "8001")]
    [InlineData(-65, "8101")]
    [InlineData(int.MaxValue, "FEFFFFFF0F")]
    [InlineData(int.MinValue, "FFFFFFFF0F")]
    public void Varint_is_zigzag(int value, string hex)
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) => w.WriteVarInt(value));
        Assert.Equal(CodecTestKit.Hex(hex), bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadVarInt());
        Assert.True(reader.IsAtEnd);
    }

    [Theory]
    [InlineData(0L, "00")]
    [InlineData(-1L, "01")]
    [InlineData(1L, "02")]
    [InlineData(long.MaxValue, "FEFFFFFFFFFFFFFFFF01")]
    [InlineData(long.MinValue, "FFFFFFFFFFFFFFFFFF01")]
    [InlineData(4294967296L, "8080808020")]
    public void Varlong_is_zigzag(long value, string hex)
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) => w.WriteVarLong(value));
        Assert.Equal(CodecTestKit.Hex(hex), bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal(value, reader.ReadVarLong());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Random_varints_round_trip()
    {
        var random = new Random(42);
        for (int i = 0; i < 10_000; i++)
        {
            int value = random.Next(int.MinValue, int.MaxValue) >> random.Next(32);
            long big = random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64);
            ulong unsignedBig = (ulong)big;
            byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
            {
                w.WriteVarInt(value);
                w.WriteVarLong(big);
                w.WriteUnsignedVarInt((uint)value);
                w.WriteUnsignedVarLong(unsignedBig);
            });
            var reader = new KafkaReader(bytes);
            Assert.Equal(value, reader.ReadVarInt());
            Assert.Equal(big, reader.ReadVarLong());
            Assert.Equal((uint)value, reader.ReadUnsignedVarInt());
            Assert.Equal(unsignedBig, reader.ReadUnsignedVarLong());
            Assert.True(reader.IsAtEnd);
        }
    }

    [Fact]
    public void Fixed_width_integers_are_big_endian()
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteInt8(-1);
            w.WriteInt16(-2);
            w.WriteInt32(0x01020304);
            w.WriteInt64(0x0102030405060708);
            w.WriteUInt32(0xFFFFFFFE);
            w.WriteBoolean(true);
            w.WriteBoolean(false);
            w.WriteFloat64(1.5);
        });
        Assert.Equal(CodecTestKit.Hex("FF FFFE 01020304 0102030405060708 FFFFFFFE 01 00 3FF8000000000000"), bytes);

        var reader = new KafkaReader(bytes);
        Assert.Equal(-1, reader.ReadInt8());
        Assert.Equal(-2, reader.ReadInt16());
        Assert.Equal(0x01020304, reader.ReadInt32());
        Assert.Equal(0x0102030405060708, reader.ReadInt64());
        Assert.Equal(0xFFFFFFFE, reader.ReadUInt32());
        Assert.True(reader.ReadBoolean());
        Assert.False(reader.ReadBoolean());
        Assert.Equal(1.5, reader.ReadFloat64());
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Uuid_is_sixteen_bytes_most_significant_first()
    {
        var id = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) => w.WriteUuid(id));
        Assert.Equal(CodecTestKit.Hex("00112233445566778899AABBCCDDEEFF"), bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal(id, reader.ReadUuid());
    }

    [Fact]
    public void Classic_strings_distinguish_null_from_empty()
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteNullableString(null);
            w.WriteNullableString("");
            w.WriteString("héllo");
        });
        Assert.Equal(CodecTestKit.Hex("FFFF 0000 0006 68C3A96C6C6F"), bytes);

        var reader = new KafkaReader(bytes);
        Assert.Null(reader.ReadNullableString());
        Assert.Equal("", reader.ReadNullableString());
        Assert.Equal("héllo", reader.ReadString());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Compact_strings_are_length_plus_one()
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteCompactNullableString(null);
            w.WriteCompactNullableString("");
            w.WriteCompactString("a");
            w.WriteCompactString(new string('x', 200));
        });
        Assert.Equal(CodecTestKit.Hex("00 01 0261 C901"), bytes.AsSpan(0, 6).ToArray());

        var reader = new KafkaReader(bytes);
        Assert.Null(reader.ReadCompactNullableString());
        Assert.Equal("", reader.ReadCompactNullableString());
        Assert.Equal("a", reader.ReadCompactString());
        Assert.Equal(new string('x', 200), reader.ReadCompactString());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Bytes_distinguish_null_from_empty_and_come_back_as_slices()
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteNullableBytes(null);
            w.WriteNullableBytes(Array.Empty<byte>());
            w.WriteBytes([1, 2, 3]);
            w.WriteCompactNullableBytes(null);
            w.WriteCompactNullableBytes(Array.Empty<byte>());
            w.WriteCompactBytes([9]);
        });
        Assert.Equal(CodecTestKit.Hex("FFFFFFFF 00000000 00000003010203 00 01 0209"), bytes);

        var reader = new KafkaReader(bytes);
        Assert.Null(reader.ReadNullableBytes());
        var empty = reader.ReadNullableBytes();
        Assert.True(empty.HasValue);
        Assert.Equal(0, empty.Value.Length);
        var three = reader.ReadBytes();
        Assert.Equal(new byte[] { 1, 2, 3 }, three.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(three, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal(12, segment.Offset);
        Assert.Null(reader.ReadCompactNullableBytes());
        Assert.Equal(0, reader.ReadCompactNullableBytes()!.Value.Length);
        Assert.Equal(new byte[] { 9 }, reader.ReadCompactBytes().ToArray());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Array_lengths_distinguish_null_from_empty()
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteArrayLength(-1);
            w.WriteArrayLength(0);
            w.WriteCompactArrayLength(-1);
            w.WriteCompactArrayLength(0);
            w.WriteCompactArrayLength(1);
            w.WriteUInt8(7);
        });
        Assert.Equal(CodecTestKit.Hex("FFFFFFFF 00000000 00 01 02 07"), bytes);

        var reader = new KafkaReader(bytes);
        Assert.Equal(-1, reader.ReadArrayLength());
        Assert.Equal(0, reader.ReadArrayLength());
        Assert.Equal(-1, reader.ReadCompactArrayLength());
        Assert.Equal(0, reader.ReadCompactArrayLength());
        Assert.Equal(1, reader.ReadCompactArrayLength());
    }

    [Fact]
    public void Tagged_fields_are_skipped_or_read_by_tag()
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteEmptyTaggedFields();
            w.WriteUnsignedVarInt(2);
            w.WriteTaggedFieldHeader(0, 2);
            w.WriteInt16(42);
            w.WriteTaggedFieldHeader(300, 3);
            w.WriteRaw([1, 2, 3]);
            w.WriteInt8(5);
        });
        Assert.Equal(CodecTestKit.Hex("00 02 00 02 002A AC02 03 010203 05"), bytes);

        var skip = new KafkaReader(bytes);
        skip.SkipTaggedFields();
        skip.SkipTaggedFields();
        Assert.Equal(5, skip.ReadInt8());

        var read = new KafkaReader(bytes);
        Assert.Equal(0, read.ReadTaggedFieldCount());
        Assert.Equal(2, read.ReadTaggedFieldCount());
        int previous = -1;
        var first = read.ReadTaggedField(ref previous);
        Assert.Equal(0, first.Tag);
        var inner = first.CreateReader();
        Assert.Equal(42, inner.ReadInt16());
        var second = read.ReadTaggedField(ref previous);
        Assert.Equal(300, second.Tag);
        Assert.Equal(new byte[] { 1, 2, 3 }, second.Data.ToArray());
    }

    [Fact]
    public void Large_values_are_written_across_chunks()
    {
        byte[] big = Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray();
        string text = new('é', 40_000);
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            w.WriteBytes(big);
            w.WriteCompactString(text);
        });
        var reader = new KafkaReader(bytes);
        Assert.True(reader.ReadBytes().Span.SequenceEqual(big));
        Assert.Equal(text, reader.ReadCompactString());
        Assert.True(reader.IsAtEnd);
    }

    [Fact]
    public void Strings_longer_than_int16_cannot_be_written_classic()
    {
        Assert.Throws<ArgumentException>(() => CodecTestKit.Bytes((ref KafkaWriter w) => w.WriteString(new string('a', 40_000))));
    }
}
