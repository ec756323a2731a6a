using System.Buffers;
using System.Runtime.InteropServices;
using OrleansMQ.Silo.Kafka.Protocol;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>
/// Frames written out byte by byte from the protocol guide's layouts (not from our writer), so
/// the codec is checked against the spec and not only against itself. Frames exclude the
/// 4-byte size prefix, which the connection handles.
/// </summary>
public sealed class GoldenBytesTests
{
    [Fact]
    public void ApiVersions_v0_request()
    {
        byte[] frame = CodecTestKit.Hex(
            "0012" +        // api_key 18
            "0000" +        // api_version 0
            "00000001" +    // correlation_id 1
            "0004 6B636174"); // client_id "kcat" (header v1: int16 length)

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(new RequestHeader(ApiKey.ApiVersions, 0, 1, "kcat"), header);
        Assert.Equal(1, header.HeaderVersion);
        _ = ApiVersionsRequest.Read(ref reader, 0);
        Assert.True(reader.IsAtEnd);

        Assert.Equal(frame, Frame(header, new ApiVersionsRequest()));
    }

    [Fact]
    public void ApiVersions_v3_request_with_a_tagged_header_and_client_software()
    {
        byte[] frame = CodecTestKit.Hex(
            "0012 0003 00000002" +           // ApiVersions v3, correlation 2
            "0007 72646B61666B61" +          // client_id "rdkafka": still an int16-length string in header v2
            "01 05 02 ABCD" +                // header tagged fields: one unknown tag 5 of 2 bytes
            "0B 6C696272646B61666B61" +      // client_software_name "librdkafka" (compact: length+1 = 11)
            "06 322E302E32" +                // client_software_version "2.0.2"
            "00");                           // body tagged fields: none

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(new RequestHeader(ApiKey.ApiVersions, 3, 2, "rdkafka"), header);
        Assert.Equal(2, header.HeaderVersion);
        var body = ApiVersionsRequest.Read(ref reader, 3);
        Assert.True(reader.IsAtEnd);
        Assert.Equal("librdkafka", body.ClientSoftwareName);
        Assert.Equal("2.0.2", body.ClientSoftwareVersion);

        // Our writer emits the same frame minus the unknown header tag.
        byte[] expected = CodecTestKit.Hex("0012 0003 00000002 0007 72646B61666B61 00 0B 6C696272646B61666B61 06 322E302E32 00");
        Assert.Equal(expected, Frame(header, body));
    }

    [Fact]
    public void Metadata_v1_request_with_one_topic_and_with_all_topics()
    {
        byte[] frame = CodecTestKit.Hex(
            "0003 0001 00000007 0001 63" +  // Metadata v1, correlation 7, client_id "c"
            "00000001" +                    // topics: 1
            "0006 6F7264657273");           // "orders"

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(new RequestHeader(ApiKey.Metadata, 1, 7, "c"), header);
        var body = MetadataRequest.Read(ref reader, 1);
        Assert.True(reader.IsAtEnd);
        Assert.Equal(new[] { "orders" }, body.Topics!);
        Assert.Equal(frame, Frame(header, body));

        byte[] all = CodecTestKit.Hex("0003 0001 00000008 FFFF FFFFFFFF"); // null client id, null topics
        reader = new KafkaReader(all);
        header = RequestHeader.Read(ref reader);
        Assert.Null(header.ClientId);
        Assert.Null(MetadataRequest.Read(ref reader, 1).Topics);
        Assert.Equal(all, Frame(header, new MetadataRequest { Topics = null }));
    }

    [Fact]
    public void Metadata_v9_request_is_flexible()
    {
        byte[] frame = CodecTestKit.Hex(
            "0003 0009 00000003 0001 63 00" + // header v2: client_id "c", no tags
            "02 0274 00" +                    // compact topics: 1 x (compact name "t", tags)
            "00 00 01" +                      // allow_auto_topic_creation false, include cluster ops false, include topic ops true
            "00");                            // tags

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        var body = MetadataRequest.Read(ref reader, 9);
        Assert.True(reader.IsAtEnd);
        Assert.Equal(new[] { "t" }, body.Topics!);
        Assert.False(body.AllowAutoTopicCreation);
        Assert.False(body.IncludeClusterAuthorizedOperations);
        Assert.True(body.IncludeTopicAuthorizedOperations);
        Assert.Equal(frame, Frame(header, body));
    }

    [Fact]
    public void Produce_v3_request_records_are_a_slice_of_the_frame()
    {
        byte[] frame = CodecTestKit.Hex(
            "0000 0003 0000000A FFFF" +  // Produce v3, correlation 10, null client id
            "FFFF" +                     // transactional_id null
            "0001" +                     // acks 1
            "00007530" +                 // timeout_ms 30000
            "00000001 0001 74" +         // 1 topic "t"
            "00000001 00000002" +        // 1 partition: index 2
            "00000003 AABBCC");          // records: 3 bytes

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        var body = ProduceRequest.Read(ref reader, 3);
        Assert.True(reader.IsAtEnd);
        Assert.Null(body.TransactionalId);
        Assert.Equal(1, body.Acks);
        Assert.Equal(30_000, body.TimeoutMs);
        var partition = Assert.Single(Assert.Single(body.Topics).Partitions);
        Assert.Equal(2, partition.Index);

        Assert.True(MemoryMarshal.TryGetArray(partition.Records!.Value, out var segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(frame.Length - 3, segment.Offset);
        Assert.Equal(3, segment.Count);
        Assert.Equal(frame, Frame(header, body));
    }

    [Fact]
    public void Produce_v9_request_uses_compact_records()
    {
        byte[] body = CodecTestKit.Hex(
            "00" +            // transactional_id null (compact)
            "FFFF" +          // acks -1
            "000003E8" +      // timeout 1000
            "02 0274" +       // 1 topic "t"
            "02 00000000" +   // 1 partition: index 0
            "03 0102" +       // COMPACT_RECORDS: length 2 (+1)
            "00 00 00");      // partition tags, topic tags, body tags

        var request = CodecTestKit.Decode<ProduceRequest>(body, 9);
        Assert.Equal(new byte[] { 1, 2 }, request.Topics[0].Partitions[0].Records!.Value.ToArray());
        Assert.Equal(body, CodecTestKit.Encode(request, 9));
    }

    [Fact]
    public void ApiVersions_unsupported_version_answer_is_v0_with_the_whole_table()
    {
        var header = new RequestHeader(ApiKey.ApiVersions, 4, 9, "client");
        Assert.False(header.IsSupported);
        var output = new ArrayBufferWriter<byte>();
        Assert.True(UnsupportedVersionResponse.TryWrite(header, output));

        byte[] expected = CodecTestKit.Hex(
            "00000009" +          // response header v0: correlation id only
            "0023" +              // error_code 35 UNSUPPORTED_VERSION
            "0000000D" +          // 13 APIs (classic int32 array: v0 body)
            "0000 0003 0009" +    // Produce 3-9
            "0001 0004 000C" +    // Fetch 4-12
            "0002 0000 0006" +    // ListOffsets 0-6
            "0003 0000 0009" +    // Metadata 0-9
            "000A 0000 0003" +    // FindCoordinator 0-3
            "0011 0000 0001" +    // SaslHandshake 0-1
            "0012 0000 0003" +    // ApiVersions 0-3
            "0013 0000 0005" +    // CreateTopics 0-5
            "0014 0000 0004" +    // DeleteTopics 0-4
            "0016 0000 0002" +    // InitProducerId 0-2
            "0020 0000 0004" +    // DescribeConfigs 0-4
            "0024 0000 0001" +    // SaslAuthenticate 0-1
            "0025 0000 0002");    // CreatePartitions 0-2
        Assert.Equal(expected, output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Other_unsupported_versions_have_no_answer()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.False(UnsupportedVersionResponse.TryWrite(new RequestHeader(ApiKey.Metadata, 99, 1, null), output));
        Assert.False(UnsupportedVersionResponse.TryWrite(new RequestHeader((ApiKey)999, 0, 1, null), output));
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void ApiVersions_v3_response_has_a_v0_header_and_a_compact_body()
    {
        var response = new ApiVersionsResponse
        {
            ApiKeys = [new() { ApiKey = ApiKey.Metadata, MinVersion = 0, MaxVersion = 9 }],
            ThrottleTimeMs = 0,
        };
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            ResponseHeader.Write(ref w, ApiKey.ApiVersions, 3, correlationId: 1);
            response.Write(ref w, 3);
        });

        byte[] expected = CodecTestKit.Hex(
            "00000001" +           // header v0 even for v3: no tagged fields
            "0000" +               // error_code
            "02 0003 0000 0009 00" + // compact array of 1: Metadata 0-9, entry tags
            "00000000" +           // throttle_time_ms
            "00");                 // tags
        Assert.Equal(expected, bytes);

        // A response carrying the feature tags (0, 1, 2) newer brokers send still reads.
        byte[] withFeatures = CodecTestKit.Hex("0000 01 00000000 03 00 01 01 01 08 FFFFFFFFFFFFFFFF 02 01 01");
        var read = CodecTestKit.Decode<ApiVersionsResponse>(withFeatures, 3);
        Assert.Empty(read.ApiKeys);
    }

    [Fact]
    public void Fetch_v4_response()
    {
        byte[] bytes = CodecTestKit.Hex(
            "00000000" +                  // throttle_time_ms
            "00000001 0001 74" +          // 1 topic "t"
            "00000001" +                  // 1 partition
            "00000000 0000" +             // partition 0, no error
            "000000000000000A" +          // high watermark 10
            "0000000000000009" +          // last stable offset 9
            "FFFFFFFF" +                  // aborted_transactions null
            "00000003 AABBCC");           // records
        var response = CodecTestKit.Decode<FetchResponse>(bytes, 4);
        var p = response.Topics[0].Partitions[0];
        Assert.Equal(10, p.HighWatermark);
        Assert.Equal(9, p.LastStableOffset);
        Assert.Null(p.AbortedTransactions);
        Assert.Equal(new byte[] { 0xAA, 0xBB, 0xCC }, p.Records!.Value.ToArray());
        Assert.Equal(bytes, CodecTestKit.Encode(response, 4));
    }

    [Fact]
    public void Fetch_v12_response_streamed_with_compact_records()
    {
        byte[] expected = CodecTestKit.Hex(
            "00000005 00" +               // response header v1: correlation 5, tags
            "00000000 0000 00000000" +    // throttle, error_code, session_id
            "02 0274" +                   // 1 topic "t"
            "02" +                        // 1 partition
            "00000000 0000" +             // partition 0, no error
            "000000000000000A" +          // high watermark
            "000000000000000A" +          // last stable offset
            "0000000000000000" +          // log start offset
            "00" +                        // aborted_transactions null (compact)
            "FFFFFFFF" +                  // preferred_read_replica -1
            "04 AABBCC" +                 // COMPACT_RECORDS: 3 bytes (+1)
            "00 00 00");                  // partition tags, topic tags, body tags

        var output = new ArrayBufferWriter<byte>();
        var fetch = new FetchResponseWriter(output, 12);
        fetch.WriteResponseHeader(5);
        fetch.Begin(0, ErrorCode.None, 0, topicCount: 1);
        fetch.BeginTopic("t", 1);
        fetch.BeginPartition(new FetchPartitionHeader(0, ErrorCode.None, 10, 10, 0), recordsLength: 3);
        fetch.WriteRecords([0xAA, 0xBB, 0xCC]);
        fetch.End();
        Assert.Equal(expected, output.WrittenSpan.ToArray());
    }

    [Fact]
    public void FindCoordinator_v0_response_and_v3_request()
    {
        byte[] v0 = CodecTestKit.Hex("0000 00000001 0009 6C6F63616C686F7374 00002384"); // error, node 1, "localhost", 9092
        var response = CodecTestKit.Decode<FindCoordinatorResponse>(v0, 0);
        Assert.Equal(("localhost", 9092, 1), (response.Host, response.Port, response.NodeId));
        Assert.Equal(v0, CodecTestKit.Encode(response, 0));

        byte[] v3 = CodecTestKit.Hex("03 6731 00 00"); // key "g1", key_type 0, tags
        Assert.Equal("g1", CodecTestKit.Decode<FindCoordinatorRequest>(v3, 3).Key);
    }

    private static byte[] Frame<T>(RequestHeader header, T body)
        where T : IKafkaMessage<T> =>
        CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            header.Write(ref w);
            body.Write(ref w, header.ApiVersion);
        });
}
