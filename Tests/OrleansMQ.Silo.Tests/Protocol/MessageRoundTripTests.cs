using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>Every request and response, every supported version: write, read back, compare.</summary>
public sealed class MessageRoundTripTests
{
    public static IEnumerable<object[]> EveryVersion() => MessageCase.EveryVersion();

    [Theory]
    [MemberData(nameof(EveryVersion))]
    public void Write_then_read_gives_back_the_same_message(string message, short version)
    {
        var c = MessageCase.Get(message);
        object sample = c.Sample(version);

        byte[] bytes = c.Encode(sample, version);
        object decoded = c.Decode(bytes, version);

        CodecTestKit.DeepEqual(sample, decoded);
        Assert.Equal(bytes, c.Encode(decoded, version));
    }

    [Theory]
    [MemberData(nameof(EveryVersion))]
    public void Every_truncation_throws_a_protocol_exception(string message, short version)
    {
        var c = MessageCase.Get(message);
        byte[] bytes = c.Encode(c.Sample(version), version);

        for (int length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes.AsMemory(0, length);
            var ex = Assert.Throws<KafkaProtocolException>(() => c.DecodeAllowingTrailingBytes(prefix, version));
            Assert.False(string.IsNullOrEmpty(ex.Message));
        }
    }

    [Theory]
    [MemberData(nameof(EveryVersion))]
    public void Corrupted_bytes_either_decode_or_throw_a_protocol_exception(string message, short version)
    {
        var c = MessageCase.Get(message);
        byte[] original = c.Encode(c.Sample(version), version);
        if (original.Length == 0)
        {
            return; // ApiVersions v0-v2 requests have an empty body.
        }

        var random = new Random(message.GetHashCode(StringComparison.Ordinal) ^ version);

        for (int round = 0; round < 300; round++)
        {
            byte[] bytes = (byte[])original.Clone();
            int flips = 1 + random.Next(3);
            for (int i = 0; i < flips; i++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            try
            {
                _ = c.DecodeAllowingTrailingBytes(bytes, version);
            }
            catch (KafkaProtocolException)
            {
                // The only acceptable failure: anything else (index, overflow, out of memory) is a bug.
            }
        }
    }

    [Fact]
    public void Every_supported_api_has_request_and_response_models()
    {
        foreach (var row in ApiVersionsTable.Supported)
        {
            Assert.Contains(MessageCase.All, c => c.ApiKey == row.ApiKey && c.IsRequest);
            Assert.Contains(MessageCase.All, c => c.ApiKey == row.ApiKey && !c.IsRequest);
        }
    }

    [Fact]
    public void Unsupported_versions_are_refused_in_both_directions()
    {
        var request = new MetadataRequest();
        Assert.Throws<ArgumentOutOfRangeException>(() => CodecTestKit.Encode(request, 10));
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<MetadataRequest>(new byte[16], 10));
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<ProduceRequest>(new byte[16], 10));
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<FetchRequest>(new byte[64], 1));
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<FetchRequest>(new byte[64], -1));
    }

    [Fact]
    public void Metadata_null_topics_means_all_in_every_version()
    {
        for (short v = 0; v <= 9; v++)
        {
            var all = CodecTestKit.Decode<MetadataRequest>(CodecTestKit.Encode(new MetadataRequest { Topics = null }, v), v);
            Assert.Null(all.Topics);
        }

        // v1+: an empty array asks for no topics at all.
        var none = CodecTestKit.Decode<MetadataRequest>(CodecTestKit.Encode(new MetadataRequest { Topics = [] }, 1), 1);
        Assert.NotNull(none.Topics);
        Assert.Empty(none.Topics);

        // v0 cannot say "no topics": an empty array there means all.
        Assert.Throws<ArgumentException>(() => CodecTestKit.Encode(new MetadataRequest { Topics = [] }, 0));
    }

    [Fact]
    public void Produce_records_are_slices_of_the_frame_not_copies()
    {
        short version = 9;
        byte[] frame = CodecTestKit.Encode(MessageSamples.ProduceRequest(version), version);
        var reader = new KafkaReader(frame);
        var request = ProduceRequest.Read(ref reader, version);

        var records = request.Topics[0].Partitions[0].Records!.Value;
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(records, out var segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(61, segment.Count);
    }
}
