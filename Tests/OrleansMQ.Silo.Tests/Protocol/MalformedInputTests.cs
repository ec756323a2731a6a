using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>Lying lengths and truncated frames fail fast with <see cref="KafkaProtocolException"/>.</summary>
public sealed class MalformedInputTests
{
    private delegate void ReadStep(ref KafkaReader reader);

    [Theory]
    [InlineData("000102", "int32 from 3 bytes")]
    [InlineData("00", "int16 from 1 byte")]
    [InlineData("000A 616263", "string of 10 from 3 bytes")]
    [InlineData("FFFE", "string length -2")]
    [InlineData("FFFF", "null non-nullable string")]
    [InlineData("0000000A 0102", "bytes of 10 from 2")]
    [InlineData("FFFFFFFB", "bytes length -5")]
    [InlineData("7FFFFFFF 00", "array of int.MaxValue")]
    [InlineData("FFFFFFFE", "array length -2")]
    [InlineData("FFFFFFFF0F 00", "compact length 2^32-1")]
    [InlineData("8080808010", "uvarint with a fifth byte that overflows")]
    [InlineData("808080808001", "uvarint of 6 bytes")]
    [InlineData("8080", "truncated uvarint")]
    [InlineData("64 0000", "100 tagged fields in 2 bytes")]
    [InlineData("01 00 05 0102", "tagged field of 5 bytes with 2 left")]
    [InlineData("02 01 00 00 00", "tagged fields out of order")]
    [InlineData("02 00 00 00 00", "repeated tag")]
    public void Malformed_primitives_throw(string hex, string what)
    {
        byte[] bytes = CodecTestKit.Hex(hex);
        ReadStep step = what switch
        {
            "int32 from 3 bytes" => (ref KafkaReader r) => r.ReadInt32(),
            "int16 from 1 byte" => (ref KafkaReader r) => r.ReadInt16(),
            "string of 10 from 3 bytes" or "string length -2" or "null non-nullable string" => (ref KafkaReader r) => r.ReadString(),
            "bytes of 10 from 2" or "bytes length -5" => (ref KafkaReader r) => r.ReadNullableBytes(),
            "array of int.MaxValue" or "array length -2" => (ref KafkaReader r) => r.ReadArrayLength(),
            "compact length 2^32-1" => (ref KafkaReader r) => r.ReadCompactNullableString(),
            "uvarint with a fifth byte that overflows" or "uvarint of 6 bytes" or "truncated uvarint" => (ref KafkaReader r) => r.ReadUnsignedVarInt(),
            _ => (ref KafkaReader r) => r.SkipTaggedFields(),
        };

        var ex = Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            step(ref reader);
        });
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Varlong_longer_than_ten_bytes_throws()
    {
        byte[] bytes = CodecTestKit.Hex("8080808080808080808001");
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(bytes).ReadVarLong());
    }

    [Fact]
    public void An_array_count_is_checked_against_its_minimum_element_size()
    {
        // 3 int32 elements need 12 bytes; only 8 remain.
        byte[] bytes = CodecTestKit.Hex("00000003 0000000100000002");
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(bytes).ReadArrayLength(minElementSize: 4));
        Assert.Equal(3, new KafkaReader(bytes).ReadArrayLength(minElementSize: 1));
    }

    [Fact]
    public void A_lying_topic_count_fails_before_allocating()
    {
        // Metadata v1 body: topic count 1_000_000_000, then one short topic.
        byte[] bytes = CodecTestKit.Hex("3B9ACA00 0001 61");
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<MetadataRequest>(bytes, 1));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000);
    }

    [Fact]
    public void A_lying_compact_count_fails_before_allocating()
    {
        // Metadata v9 body: compact topic count 2^31 (uvarint 0x80000001).
        byte[] bytes = CodecTestKit.Hex("8180808008 00 01 00 00 00");
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<MetadataRequest>(bytes, 9));
    }

    [Fact]
    public void A_lying_records_length_throws()
    {
        // Produce v3 body: null txn id, acks 1, timeout, 1 topic "t", 1 partition 0, records of 1000 bytes (3 present).
        byte[] bytes = CodecTestKit.Hex("FFFF 0001 00007530 00000001 000174 00000001 00000000 000003E8 AABBCC");
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<ProduceRequest>(bytes, 3));
    }

    [Fact]
    public void A_header_shorter_than_eight_bytes_throws()
    {
        byte[] bytes = CodecTestKit.Hex("0012000000");
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(bytes);
            RequestHeader.Read(ref reader);
        });
    }

    [Fact]
    public void A_known_tagged_field_of_the_wrong_size_throws()
    {
        // CreateTopics v5 response: throttle 0, 1 topic "t", error 0, message null, partitions, rf, configs null,
        // then tag 0 (topic_config_error_code) with 3 bytes instead of 2.
        byte[] bytes = CodecTestKit.Hex("00000000 02 0274 0000 00 00000001 0001 00 01 00 03 000000 00");
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<CreateTopicsResponse>(bytes, 5));
    }

    [Fact]
    public void Unknown_tagged_fields_in_a_message_are_skipped()
    {
        // InitProducerId v2 request: txn id null, timeout 1000, then a tagged field 7 the broker does not know.
        byte[] bytes = CodecTestKit.Hex("00 000003E8 01 07 02 ABCD");
        var request = CodecTestKit.Decode<InitProducerIdRequest>(bytes, 2);
        Assert.Null(request.TransactionalId);
        Assert.Equal(1000, request.TransactionTimeoutMs);
    }
}
