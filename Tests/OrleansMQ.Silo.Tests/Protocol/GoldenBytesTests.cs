using System.Buffers;
using System.Runtime.InteropServices;
using OrleansMQ.Protocol.Kafka;
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
    public void Produce_v2_request_has_no_transactional_id()
    {
        byte[] frame = CodecTestKit.Hex(
            "0000 0002 0000000B 0001 63" + // Produce v2, correlation 11, client_id "c" (header v1)
            "FFFF" +                       // acks -1 (no transactional_id before v3)
            "00001388" +                   // timeout_ms 5000
            "00000001 0001 74" +           // 1 topic "t"
            "00000001 00000000" +          // 1 partition: index 0
            "00000002 0102");              // records: 2 bytes

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(new RequestHeader(ApiKey.Produce, 2, 11, "c"), header);
        Assert.Equal(1, header.HeaderVersion);
        var body = ProduceRequest.Read(ref reader, 2);
        Assert.True(reader.IsAtEnd);
        Assert.Null(body.TransactionalId);
        Assert.Equal(-1, body.Acks);
        Assert.Equal(5_000, body.TimeoutMs);
        var partition = Assert.Single(Assert.Single(body.Topics).Partitions);
        Assert.Equal(new byte[] { 1, 2 }, partition.Records!.Value.ToArray());
        Assert.Equal(frame, Frame(header, body));
    }

    [Fact]
    public void Produce_v2_response_has_log_append_time_and_a_trailing_throttle_time()
    {
        byte[] bytes = CodecTestKit.Hex(
            "00000001 0001 74" +          // 1 topic "t"
            "00000001" +                  // 1 partition
            "00000000 002B" +             // partition 0, error 43 UNSUPPORTED_FOR_MESSAGE_FORMAT
            "FFFFFFFFFFFFFFFF" +          // base_offset -1
            "FFFFFFFFFFFFFFFF" +          // log_append_time_ms -1 (no log_start_offset before v5)
            "00000064");                  // throttle_time_ms 100
        var response = CodecTestKit.Decode<ProduceResponse>(bytes, 2);
        var p = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(ErrorCode.UnsupportedForMessageFormat, p.ErrorCode);
        Assert.Equal(-1, p.BaseOffset);
        Assert.Equal(-1, p.LogAppendTimeMs);
        Assert.Equal(100, response.ThrottleTimeMs);
        Assert.Equal(bytes, CodecTestKit.Encode(response, 2));

        // v0 has neither log_append_time_ms nor throttle_time_ms; v1 adds only the latter.
        var ok = new ProduceResponse { ThrottleTimeMs = 7, Topics = [new() { Name = "t", Partitions = [new() { Index = 0, BaseOffset = 5, LogAppendTimeMs = 9 }] }] };
        Assert.Equal(CodecTestKit.Hex("00000001 0001 74 00000001 00000000 0000 0000000000000005"), CodecTestKit.Encode(ok, 0));
        Assert.Equal(CodecTestKit.Hex("00000001 0001 74 00000001 00000000 0000 0000000000000005 00000007"), CodecTestKit.Encode(ok, 1));
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
            "00000022" +          // 34 APIs (classic int32 array: v0 body)
            "0000 0000 0009" +    // Produce 0-9
            "0001 0002 000C" +    // Fetch 2-12
            "0002 0000 0006" +    // ListOffsets 0-6
            "0003 0000 0009" +    // Metadata 0-9
            "0008 0000 0008" +    // OffsetCommit 0-8
            "0009 0000 0007" +    // OffsetFetch 0-7
            "000A 0000 0003" +    // FindCoordinator 0-3
            "000B 0000 0007" +    // JoinGroup 0-7
            "000C 0000 0004" +    // Heartbeat 0-4
            "000D 0000 0005" +    // LeaveGroup 0-5
            "000E 0000 0005" +    // SyncGroup 0-5
            "000F 0000 0005" +    // DescribeGroups 0-5
            "0010 0000 0004" +    // ListGroups 0-4
            "0011 0000 0001" +    // SaslHandshake 0-1
            "0012 0000 0003" +    // ApiVersions 0-3
            "0013 0000 0005" +    // CreateTopics 0-5
            "0014 0000 0004" +    // DeleteTopics 0-4
            "0015 0000 0002" +    // DeleteRecords 0-2
            "0016 0000 0002" +    // InitProducerId 0-2
            "0017 0002 0004" +    // OffsetForLeaderEpoch 2-4
            "0020 0000 0004" +    // DescribeConfigs 0-4
            "0021 0000 0002" +    // AlterConfigs 0-2
            "0023 0001 0004" +    // DescribeLogDirs 1-4
            "0024 0000 0001" +    // SaslAuthenticate 0-1
            "0025 0000 0002" +    // CreatePartitions 0-2
            "002A 0000 0002" +    // DeleteGroups 0-2
            "002B 0000 0002" +    // ElectLeaders 0-2
            "002C 0000 0001" +    // IncrementalAlterConfigs 0-1
            "002D 0000 0000" +    // AlterPartitionReassignments 0
            "002E 0000 0000" +    // ListPartitionReassignments 0
            "002F 0000 0000" +    // OffsetDelete 0
            "003C 0000 0001" +    // DescribeCluster 0-1
            "003D 0000 0000" +    // DescribeProducers 0
            "004B 0000 0000");    // DescribeTopicPartitions 0
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
    public void Fetch_v2_request_has_neither_max_bytes_nor_isolation_level()
    {
        byte[] frame = CodecTestKit.Hex(
            "0001 0002 0000000C 0001 63" + // Fetch v2, correlation 12, client_id "c"
            "FFFFFFFF" +                   // replica_id -1
            "000001F4" +                   // max_wait_ms 500
            "00000001" +                   // min_bytes 1 (then straight to topics)
            "00000001 0001 74" +           // 1 topic "t"
            "00000001" +                   // 1 partition
            "00000003" +                   // partition 3
            "0000000000000007" +           // fetch_offset 7
            "00100000");                   // partition_max_bytes 1 MiB

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(new RequestHeader(ApiKey.Fetch, 2, 12, "c"), header);
        var body = FetchRequest.Read(ref reader, 2);
        Assert.True(reader.IsAtEnd);
        Assert.Equal(500, body.MaxWaitMs);
        Assert.Equal(1, body.MinBytes);
        Assert.Equal(int.MaxValue, body.MaxBytes);
        Assert.Equal(0, body.IsolationLevel);
        var partition = Assert.Single(Assert.Single(body.Topics).Partitions);
        Assert.Equal(3, partition.PartitionIndex);
        Assert.Equal(7, partition.FetchOffset);
        Assert.Equal(1 << 20, partition.PartitionMaxBytes);
        Assert.Equal(frame, Frame(header, body));

        // v3 adds max_bytes after min_bytes; still no isolation_level.
        body.MaxBytes = 0x10000;
        byte[] v3 = CodecTestKit.Encode(body, 3);
        Assert.Equal(CodecTestKit.Hex("FFFFFFFF 000001F4 00000001 00010000 00000001 0001 74 00000001 00000003 0000000000000007 00100000"), v3);
        Assert.Equal(0x10000, CodecTestKit.Decode<FetchRequest>(v3, 3).MaxBytes);
    }

    [Fact]
    public void Fetch_v2_response_has_no_last_stable_offset_or_aborted_transactions()
    {
        byte[] expected = CodecTestKit.Hex(
            "00000006" +                  // response header v0: correlation 6
            "00000000" +                  // throttle_time_ms (no error_code / session_id before v7)
            "00000001 0001 74" +          // 1 topic "t"
            "00000001" +                  // 1 partition
            "00000000 0000" +             // partition 0, no error
            "000000000000000A" +          // high watermark 10, then straight to the records
            "00000003 AABBCC");           // records

        var output = new ArrayBufferWriter<byte>();
        var fetch = new FetchResponseWriter(output, 2);
        fetch.WriteResponseHeader(6);
        fetch.Begin(0, ErrorCode.None, 0, topicCount: 1);
        fetch.BeginTopic("t", 1);
        fetch.BeginPartition(new FetchPartitionHeader(0, ErrorCode.None, 10, 10, 0, -1, [new AbortedTransaction(1, 2)]), recordsLength: 3);
        fetch.WriteRecords([0xAA, 0xBB, 0xCC]);
        fetch.End();
        Assert.Equal(expected, output.WrittenSpan.ToArray());

        var response = CodecTestKit.Decode<FetchResponse>(expected.AsMemory(4), 2);
        var p = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(10, p.HighWatermark);
        Assert.Equal(-1, p.LastStableOffset);
        Assert.Null(p.AbortedTransactions);
        Assert.Equal(new byte[] { 0xAA, 0xBB, 0xCC }, p.Records!.Value.ToArray());
        Assert.Equal(expected.AsSpan(4).ToArray(), CodecTestKit.Encode(response, 3)); // v3's response is v2's
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

    [Fact]
    public void JoinGroup_v5_request_with_a_group_instance_id()
    {
        byte[] frame = CodecTestKit.Hex(
            "000B 0005 0000000B 0001 63" +   // JoinGroup v5, correlation 11, client_id "c" (header v1)
            "0002 6731" +                    // group_id "g1"
            "00002710" +                     // session_timeout_ms 10000
            "000493E0" +                     // rebalance_timeout_ms 300000 (v1+)
            "0002 6D31" +                    // member_id "m1"
            "0002 6931" +                    // group_instance_id "i1" (v5+, nullable)
            "0008 636F6E73756D6572" +        // protocol_type "consumer"
            "00000001" +                     // protocols: 1
            "0005 72616E6765" +              //   name "range"
            "00000003 010203");              //   metadata: 3 bytes

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(new RequestHeader(ApiKey.JoinGroup, 5, 11, "c"), header);
        var body = JoinGroupRequest.Read(ref reader, 5);
        Assert.True(reader.IsAtEnd);
        Assert.Equal(("g1", 10_000, 300_000, "m1", "i1", "consumer"), (body.GroupId, body.SessionTimeoutMs, body.RebalanceTimeoutMs, body.MemberId, body.GroupInstanceId, body.ProtocolType));
        var protocol = Assert.Single(body.Protocols);
        Assert.Equal("range", protocol.Name);
        Assert.Equal(new byte[] { 1, 2, 3 }, protocol.Metadata.ToArray());
        Assert.Equal(frame, Frame(header, body));
    }

    [Fact]
    public void JoinGroup_v0_response()
    {
        byte[] bytes = CodecTestKit.Hex(
            "0000" +                 // error_code (no throttle_time_ms before v2)
            "00000001" +             // generation_id 1
            "0005 72616E6765" +      // protocol_name "range" (no protocol_type before v7)
            "0002 6D31" +            // leader "m1"
            "0002 6D31" +            // member_id "m1"
            "00000001" +             // members: 1
            "0002 6D31" +            //   member_id "m1" (no group_instance_id before v5)
            "00000002 AABB");        //   metadata: 2 bytes

        var response = CodecTestKit.Decode<JoinGroupResponse>(bytes, 0);
        Assert.Equal((1, "range", "m1", "m1"), (response.GenerationId, response.ProtocolName, response.Leader, response.MemberId));
        var member = Assert.Single(response.Members);
        Assert.Null(member.GroupInstanceId);
        Assert.Equal(new byte[] { 0xAA, 0xBB }, member.Metadata.ToArray());
        Assert.Equal(bytes, CodecTestKit.Encode(response, 0));

        // protocol_name is a plain STRING before v7: a null name (a failed join) goes out as "".
        var failed = new JoinGroupResponse { ErrorCode = ErrorCode.UnknownMemberId, ProtocolName = null };
        Assert.Equal(CodecTestKit.Hex("0019 FFFFFFFF 0000 0000 0000 00000000"), CodecTestKit.Encode(failed, 0));

        // From v7 both protocol_type and protocol_name are nullable (compact null = 0).
        Assert.Equal(CodecTestKit.Hex("00000000 0019 FFFFFFFF 00 00 01 01 01 00"), CodecTestKit.Encode(failed, 7));
    }

    [Fact]
    public void SyncGroup_v3_request()
    {
        byte[] bytes = CodecTestKit.Hex(
            "0002 6731" +            // group_id "g1"
            "00000001" +             // generation_id 1
            "0002 6D31" +            // member_id "m1"
            "FFFF" +                 // group_instance_id null (v3+)
            "00000001" +             // assignments: 1
            "0002 6D31" +            //   member_id "m1"
            "00000002 CAFE");        //   assignment: 2 bytes

        var request = CodecTestKit.Decode<SyncGroupRequest>(bytes, 3);
        Assert.Equal(("g1", 1, "m1"), (request.GroupId, request.GenerationId, request.MemberId));
        Assert.Null(request.GroupInstanceId);
        var assignment = Assert.Single(request.Assignments);
        Assert.Equal("m1", assignment.MemberId);
        Assert.Equal(new byte[] { 0xCA, 0xFE }, assignment.AssignmentBytes.ToArray());
        Assert.Equal(bytes, CodecTestKit.Encode(request, 3));
    }

    [Fact]
    public void Heartbeat_v4_request_is_flexible()
    {
        byte[] frame = CodecTestKit.Hex(
            "000C 0004 00000005 0001 63 00" + // Heartbeat v4, correlation 5, client_id "c", header tags (header v2)
            "03 6731" +                       // group_id "g1" (compact: length+1)
            "00000002" +                      // generation_id 2
            "03 6D31" +                       // member_id "m1"
            "00" +                            // group_instance_id null (compact)
            "00");                            // tags

        var reader = new KafkaReader(frame);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal(2, header.HeaderVersion);
        var body = HeartbeatRequest.Read(ref reader, 4);
        Assert.True(reader.IsAtEnd);
        Assert.Equal(("g1", 2, "m1"), (body.GroupId, body.GenerationId, body.MemberId));
        Assert.Null(body.GroupInstanceId);
        Assert.Equal(frame, Frame(header, body));
    }

    [Fact]
    public void LeaveGroup_v3_request_is_a_batch()
    {
        byte[] bytes = CodecTestKit.Hex(
            "0002 6731" +            // group_id "g1" (no single member_id from v3)
            "00000002" +             // members: 2
            "0002 6D31 FFFF" +       //   member_id "m1", group_instance_id null
            "0000 0002 6932");       //   member_id "", group_instance_id "i2"

        var request = CodecTestKit.Decode<LeaveGroupRequest>(bytes, 3);
        Assert.Equal("g1", request.GroupId);
        Assert.Equal(2, request.Members.Count);
        Assert.Equal(("m1", (string?)null), (request.Members[0].MemberId, request.Members[0].GroupInstanceId));
        Assert.Equal(("", "i2"), (request.Members[1].MemberId, request.Members[1].GroupInstanceId));
        Assert.Equal(bytes, CodecTestKit.Encode(request, 3));
    }

    [Fact]
    public void OffsetCommit_v7_request()
    {
        byte[] bytes = CodecTestKit.Hex(
            "0002 6731" +            // group_id "g1"
            "00000003" +             // generation_id 3 (v1+)
            "0002 6D31" +            // member_id "m1" (v1+)
            "0002 6931" +            // group_instance_id "i1" (v7+; no retention_time_ms after v4)
            "00000001 0001 74" +     // topics: 1, name "t"
            "00000001" +             //   partitions: 1
            "00000000" +             //     partition_index 0
            "000000000000002A" +     //     committed_offset 42
            "00000001" +             //     committed_leader_epoch 1 (v6+)
            "FFFF");                 //     committed_metadata null

        var request = CodecTestKit.Decode<OffsetCommitRequest>(bytes, 7);
        Assert.Equal(("g1", 3, "m1", "i1", -1L), (request.GroupId, request.GenerationId, request.MemberId, request.GroupInstanceId, request.RetentionTimeMs));
        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal((0, 42L, 1, -1L), (partition.PartitionIndex, partition.CommittedOffset, partition.CommittedLeaderEpoch, partition.CommitTimestamp));
        Assert.Null(partition.CommittedMetadata);
        Assert.Equal(bytes, CodecTestKit.Encode(request, 7));
    }

    [Fact]
    public void OffsetFetch_v6_request_and_response_are_flexible()
    {
        byte[] request = CodecTestKit.Hex(
            "03 6731" +                      // group_id "g1"
            "02" +                           // topics: 1 (compact: N+1)
            "02 74" +                        //   name "t"
            "03 00000000 00000001" +         //   partition_indexes [0, 1]
            "00" +                           //   topic tags
            "00");                           // tags (require_stable only from v7)

        var read = CodecTestKit.Decode<OffsetFetchRequest>(request, 6);
        Assert.Equal("g1", read.GroupId);
        var topic = Assert.Single(read.Topics!);
        Assert.Equal("t", topic.Name);
        Assert.Equal([0, 1], topic.PartitionIndexes);
        Assert.Equal(request, CodecTestKit.Encode(read, 6));

        // A null topics array (compact 0) asks for every committed offset of the group.
        byte[] all = CodecTestKit.Hex("03 6731 00 00");
        Assert.Null(CodecTestKit.Decode<OffsetFetchRequest>(all, 6).Topics);
        Assert.Equal(all, CodecTestKit.Encode(new OffsetFetchRequest { GroupId = "g1", Topics = null }, 6));

        byte[] response = CodecTestKit.Hex(
            "00000000" +                     // throttle_time_ms
            "02" +                           // topics: 1
            "02 74" +                        //   name "t"
            "03" +                           //   partitions: 2
            "00000000" +                     //     partition_index 0
            "000000000000002A" +             //     committed_offset 42
            "00000004" +                     //     committed_leader_epoch 4 (v5+)
            "03 6D64" +                      //     metadata "md"
            "0000 00" +                      //     error_code, partition tags
            "00000001" +                     //     partition_index 1
            "FFFFFFFFFFFFFFFF" +             //     committed_offset -1 (none)
            "FFFFFFFF" +                     //     committed_leader_epoch -1
            "00" +                           //     metadata null
            "0000 00" +                      //     error_code, partition tags
            "00" +                           //   topic tags
            "0000" +                         // error_code (v2+)
            "00");                           // tags

        var fetched = CodecTestKit.Decode<OffsetFetchResponse>(response, 6);
        var partitions = Assert.Single(fetched.Topics).Partitions;
        Assert.Equal((42L, 4, "md"), (partitions[0].CommittedOffset, partitions[0].CommittedLeaderEpoch, partitions[0].Metadata));
        Assert.Equal((-1L, -1, (string?)null), (partitions[1].CommittedOffset, partitions[1].CommittedLeaderEpoch, partitions[1].Metadata));
        Assert.Equal(response, CodecTestKit.Encode(fetched, 6));
    }

    [Fact]
    public void OffsetFetch_v1_request_cannot_ask_for_all_topics()
    {
        byte[] bytes = CodecTestKit.Hex(
            "0002 6731" +                    // group_id "g1"
            "00000001" +                     // topics: 1
            "0001 74" +                      //   name "t"
            "00000001 00000002");            //   partition_indexes [2]

        var request = CodecTestKit.Decode<OffsetFetchRequest>(bytes, 1);
        Assert.Equal([2], Assert.Single(request.Topics!).PartitionIndexes);
        Assert.Equal(bytes, CodecTestKit.Encode(request, 1));

        // The array is nullable only from v2.
        Assert.Throws<KafkaProtocolException>(() => CodecTestKit.Decode<OffsetFetchRequest>(CodecTestKit.Hex("0002 6731 FFFFFFFF"), 1));
        Assert.Throws<ArgumentException>(() => CodecTestKit.Encode(new OffsetFetchRequest { GroupId = "g1", Topics = null }, 1));
        Assert.Null(CodecTestKit.Decode<OffsetFetchRequest>(CodecTestKit.Hex("0002 6731 FFFFFFFF"), 2).Topics);
    }

    [Fact]
    public void ListGroups_v3_response_is_flexible()
    {
        byte[] bytes = CodecTestKit.Hex(
            "00000000" +                     // throttle_time_ms
            "0000" +                         // error_code
            "02" +                           // groups: 1
            "03 6731" +                      //   group_id "g1"
            "09 636F6E73756D6572" +          //   protocol_type "consumer" (no group_state before v4)
            "00" +                           //   group tags
            "00");                           // tags

        var response = CodecTestKit.Decode<ListGroupsResponse>(bytes, 3);
        var group = Assert.Single(response.Groups);
        Assert.Equal(("g1", "consumer", ""), (group.GroupId, group.ProtocolType, group.GroupState));
        Assert.Equal(bytes, CodecTestKit.Encode(response, 3));

        // The v3 request is only its tagged fields; v0-v2 requests are empty.
        Assert.Equal(CodecTestKit.Hex("00"), CodecTestKit.Encode(new ListGroupsRequest(), 3));
        Assert.Empty(CodecTestKit.Encode(new ListGroupsRequest(), 2));
    }

    [Fact]
    public void DescribeGroups_v5_response()
    {
        byte[] bytes = CodecTestKit.Hex(
            "00000000" +                     // throttle_time_ms
            "02" +                           // groups: 1
            "0000" +                         //   error_code
            "03 6731" +                      //   group_id "g1"
            "07 537461626C65" +              //   group_state "Stable"
            "09 636F6E73756D6572" +          //   protocol_type "consumer"
            "06 72616E6765" +                //   protocol_data "range"
            "02" +                           //   members: 1
            "03 6D31" +                      //     member_id "m1"
            "00" +                           //     group_instance_id null (v4+)
            "02 63" +                        //     client_id "c"
            "03 2F68" +                      //     client_host "/h"
            "03 0102" +                      //     member_metadata: 2 bytes
            "01" +                           //     member_assignment: empty
            "00" +                           //     member tags
            "80000000" +                     //   authorized_operations omitted (INT32 min, v3+)
            "00" +                           //   group tags
            "00");                           // tags

        var response = CodecTestKit.Decode<DescribeGroupsResponse>(bytes, 5);
        var group = Assert.Single(response.Groups);
        Assert.Equal(("g1", "Stable", "consumer", "range"), (group.GroupId, group.GroupState, group.ProtocolType, group.ProtocolData));
        Assert.Equal(DescribeGroupsResponse.AuthorizedOperationsOmitted, group.AuthorizedOperations);
        var member = Assert.Single(group.Members);
        Assert.Equal(("m1", (string?)null, "c", "/h"), (member.MemberId, member.GroupInstanceId, member.ClientId, member.ClientHost));
        Assert.Equal(new byte[] { 1, 2 }, member.MemberMetadata.ToArray());
        Assert.True(member.MemberAssignment.IsEmpty);
        Assert.Equal(bytes, CodecTestKit.Encode(response, 5));
    }

    [Fact]
    public void DeleteGroups_v2_request_is_flexible()
    {
        byte[] bytes = CodecTestKit.Hex(
            "03" +                           // groups_names: 2 (compact: N+1)
            "03 6731" +                      //   "g1"
            "03 6732" +                      //   "g2"
            "00");                           // tags

        var request = CodecTestKit.Decode<DeleteGroupsRequest>(bytes, 2);
        Assert.Equal(["g1", "g2"], request.GroupsNames);
        Assert.Equal(bytes, CodecTestKit.Encode(request, 2));
    }

    [Fact]
    public void OffsetDelete_v0_request()
    {
        byte[] bytes = CodecTestKit.Hex(
            "0002 6731" +                    // group_id "g1"
            "00000001" +                     // topics: 1
            "0001 74" +                      //   name "t"
            "00000002" +                     //   partitions: 2
            "00000000" +                     //     partition_index 0
            "00000003");                     //     partition_index 3

        var request = CodecTestKit.Decode<OffsetDeleteRequest>(bytes, 0);
        Assert.Equal("g1", request.GroupId);
        var topic = Assert.Single(request.Topics);
        Assert.Equal("t", topic.Name);
        Assert.Equal([0, 3], topic.Partitions);
        Assert.Equal(bytes, CodecTestKit.Encode(request, 0));
    }

    private static byte[] Frame<T>(RequestHeader header, T body)
        where T : IKafkaMessage<T> =>
        CodecTestKit.Bytes((ref KafkaWriter w) =>
        {
            header.Write(ref w);
            body.Write(ref w, header.ApiVersion);
        });
}
