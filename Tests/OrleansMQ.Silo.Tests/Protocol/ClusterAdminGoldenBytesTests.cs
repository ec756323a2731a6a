using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>
/// Bodies of the cluster admin messages written out byte by byte from the protocol guide's
/// layouts, for the shapes the other messages do not have: a version-gated field in the middle
/// of the first field group (OffsetForLeaderEpoch's replica_id from v3), a nullable struct
/// (DescribeTopicPartitions' cursor: INT8 -1 for null, 1 then the struct) and a UUID.
/// </summary>
public sealed class ClusterAdminGoldenBytesTests
{
    [Fact]
    public void OffsetForLeaderEpoch_v2_request_has_no_replica_id()
    {
        byte[] body = CodecTestKit.Hex(
            "00000001" +           // topics: 1 (int32 count)
            "0001 74" +            // topic "t"
            "00000001" +           // partitions: 1
            "00000000" +           // partition 0
            "00000003" +           // current_leader_epoch 3
            "00000002");           // leader_epoch 2

        var request = CodecTestKit.Decode<OffsetForLeaderEpochRequest>(body, 2);
        Assert.Equal(-2, request.ReplicaId);
        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal((0, 3, 2), (partition.PartitionIndex, partition.CurrentLeaderEpoch, partition.LeaderEpoch));
        Assert.Equal(body, CodecTestKit.Encode(request, 2));
    }

    [Fact]
    public void OffsetForLeaderEpoch_v4_request_is_flexible_with_the_follower_id()
    {
        byte[] body = CodecTestKit.Hex(
            "00000001" +           // replica_id 1 (a follower)
            "02" +                 // topics: compact count 1+1
            "02 74" +              // topic "t" (compact)
            "02" +                 // partitions: 1
            "00000000 00000003 00000002 00" + // partition 0, current epoch 3, epoch 2, no tags
            "00" +                 // topic tags
            "00");                 // body tags

        var request = CodecTestKit.Decode<OffsetForLeaderEpochRequest>(body, 4);
        Assert.Equal(1, request.ReplicaId);
        Assert.Equal("t", Assert.Single(request.Topics).Name);
        Assert.Equal(body, CodecTestKit.Encode(request, 4));
    }

    [Fact]
    public void OffsetForLeaderEpoch_v4_response()
    {
        byte[] body = CodecTestKit.Hex(
            "00000000" +                       // throttle_time_ms
            "02 02 74" +                       // topics: 1, "t"
            "02" +                             // partitions: 1
            "0000 00000000 00000002 0000000000000064 00" + // no error, partition 0, epoch 2, end offset 100
            "00 00");

        var response = CodecTestKit.Decode<OffsetForLeaderEpochResponse>(body, 4);
        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal((ErrorCode.None, 2, 100L), (partition.ErrorCode, partition.LeaderEpoch, partition.EndOffset));
        Assert.Equal(body, CodecTestKit.Encode(response, 4));
    }

    [Fact]
    public void DescribeTopicPartitions_request_cursor_is_a_nullable_struct()
    {
        byte[] withoutCursor = CodecTestKit.Hex("02 02 74 00" + "000007D0" + "FF" + "00");
        var first = CodecTestKit.Decode<DescribeTopicPartitionsRequest>(withoutCursor, 0);
        Assert.Null(first.Cursor);
        Assert.Equal(2000, first.ResponsePartitionLimit);
        Assert.Equal(withoutCursor, CodecTestKit.Encode(first, 0));

        byte[] withCursor = CodecTestKit.Hex("02 02 74 00" + "00000064" + "01 02 74 00000005 00" + "00");
        var next = CodecTestKit.Decode<DescribeTopicPartitionsRequest>(withCursor, 0);
        Assert.NotNull(next.Cursor);
        Assert.Equal(("t", 5), (next.Cursor.TopicName, next.Cursor.PartitionIndex));
        Assert.Equal(withCursor, CodecTestKit.Encode(next, 0));
    }

    [Fact]
    public void DescribeTopicPartitions_response_topic_id_is_a_big_endian_uuid()
    {
        byte[] body = CodecTestKit.Hex(
            "00000000" +                               // throttle_time_ms
            "02" +                                     // topics: 1
            "0000 02 74" +                             // no error, name "t"
            "000102030405060708090A0B0C0D0E0F" +       // topic_id
            "00" +                                     // is_internal false
            "01" +                                     // partitions: 0
            "80000000" +                               // topic_authorized_operations: not asked
            "00" +                                     // topic tags
            "FF" +                                     // next_cursor null
            "00");

        var response = CodecTestKit.Decode<DescribeTopicPartitionsResponse>(body, 0);
        var topic = Assert.Single(response.Topics);
        Assert.Equal(new Guid("00010203-0405-0607-0809-0a0b0c0d0e0f"), topic.TopicId);
        Assert.Equal(int.MinValue, topic.TopicAuthorizedOperations);
        Assert.Null(response.NextCursor);
        Assert.Equal(body, CodecTestKit.Encode(response, 0));
    }

    [Fact]
    public void DescribeLogDirs_v4_response_carries_the_volume_sizes()
    {
        byte[] body = CodecTestKit.Hex(
            "00000000" +                 // throttle_time_ms
            "0000" +                     // error_code (v3+)
            "02" +                       // results: 1
            "0000 02 64" +               // no error, log_dir "d"
            "02 02 74" +                 // topics: 1, "t"
            "02 00000000 0000000000000400 0000000000000000 00 00" + // partition 0, 1024 bytes, lag 0, not future
            "00" +                       // topic tags
            "00000000000F4240" +         // total_bytes 1,000,000
            "000000000007A120" +         // usable_bytes 500,000
            "00" +                       // result tags
            "00");

        var response = CodecTestKit.Decode<DescribeLogDirsResponse>(body, 4);
        var result = Assert.Single(response.Results);
        Assert.Equal((1_000_000L, 500_000L), (result.TotalBytes, result.UsableBytes));
        Assert.Equal(1024, Assert.Single(Assert.Single(result.Topics).Partitions).PartitionSize);
        Assert.Equal(body, CodecTestKit.Encode(response, 4));
    }
}
