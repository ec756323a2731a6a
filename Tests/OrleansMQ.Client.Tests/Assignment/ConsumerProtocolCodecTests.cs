using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol.Groups;
using Xunit;
using static OrleansMQ.Client.Tests.Assignment.AssignmentTestSupport;

namespace OrleansMQ.Client.Tests.Assignment;

/// <summary>
/// The embedded consumer protocol: golden v0 bytes, round trips per version, newer versions read
/// as the newest known, and malformed bytes rejected with <see cref="FormatException"/>.
/// </summary>
public sealed class ConsumerProtocolCodecTests
{
    private static readonly ConsumerSubscription FullSubscription = new(["orders", "payments"])
    {
        UserData = new byte[] { 0xCA, 0xFE },
        OwnedPartitions = [Tp("orders", 0), Tp("orders", 3), Tp("payments", 1)],
        GenerationId = 42,
        RackId = "rack-a",
    };

    private static readonly ConsumerAssignment FullAssignment = new([Tp("orders", 1), Tp("orders", 2), Tp("payments", 0)])
    {
        UserData = new byte[] { 1, 2, 3, 4 },
    };

    [Fact]
    public void V0_subscription_matches_golden_bytes()
    {
        byte[] expected = Convert.FromHexString(string.Concat(
            "0000",         // int16 version = 0
            "00000002",     // topics: int32 count = 2
            "0002", "7430", //   string "t0": int16 length 2, 't' '0'
            "0002", "7431", //   string "t1"
            "FFFFFFFF"));   // user_data: int32 length -1 = null

        byte[] actual = ConsumerProtocolCodec.EncodeSubscription(new ConsumerSubscription(["t0", "t1"]), version: 0);

        Assert.Equal(expected, actual);
        var decoded = ConsumerProtocolCodec.DecodeSubscription(expected);
        Assert.Equal(["t0", "t1"], decoded.Topics);
        Assert.Null(decoded.UserData);
        Assert.Empty(decoded.OwnedPartitions);
        Assert.Equal(-1, decoded.GenerationId);
        Assert.Null(decoded.RackId);
    }

    [Fact]
    public void V0_assignment_matches_golden_bytes()
    {
        byte[] expected = Convert.FromHexString(string.Concat(
            "0000",         // int16 version = 0
            "00000002",     // assigned_partitions: int32 count = 2 topics
            "0002", "7430", //   topic "t0"
            "00000002",     //   partitions: int32 count = 2
            "00000000",     //     partition 0
            "00000002",     //     partition 2
            "0002", "7431", //   topic "t1"
            "00000001",     //   partitions: int32 count = 1
            "00000001",     //     partition 1
            "00000003",     // user_data: int32 length 3
            "010203"));     //   the bytes

        var assignment = new ConsumerAssignment([Tp("t0", 0), Tp("t0", 2), Tp("t1", 1)]) { UserData = new byte[] { 1, 2, 3 } };
        byte[] actual = ConsumerProtocolCodec.EncodeAssignment(assignment, version: 0);

        Assert.Equal(expected, actual);
        var decoded = ConsumerProtocolCodec.DecodeAssignment(expected);
        Assert.Equal(["t0p0", "t0p2", "t1p1"], Names(decoded.Partitions));
        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.UserData!.Value.ToArray());
    }

    [Fact]
    public void V3_subscription_lays_out_every_field_in_order()
    {
        var subscription = new ConsumerSubscription(["a"])
        {
            UserData = new byte[] { 9 },
            OwnedPartitions = [Tp("a", 5)],
            GenerationId = 7,
            RackId = "r",
        };
        byte[] expected = Convert.FromHexString(string.Concat(
            "0003",                     // version 3
            "00000001", "0001", "61",   // topics ["a"]
            "00000001", "09",           // user_data [9]
            "00000001", "0001", "61",   // owned_partitions: 1 topic, "a"
            "00000001", "00000005",     //   partitions [5]
            "00000007",                 // generation_id 7
            "0001", "72"));             // rack_id "r"

        Assert.Equal(expected, ConsumerProtocolCodec.EncodeSubscription(subscription, version: 3));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Subscription_round_trips_the_fields_of_each_version(short version)
    {
        byte[] bytes = ConsumerProtocolCodec.EncodeSubscription(FullSubscription, version);
        Assert.Equal(version, (short)((bytes[0] << 8) | bytes[1]));

        var decoded = ConsumerProtocolCodec.DecodeSubscription(bytes);

        Assert.Equal(FullSubscription.Topics, decoded.Topics);
        Assert.Equal(new byte[] { 0xCA, 0xFE }, decoded.UserData!.Value.ToArray());
        Assert.Equal(version >= 1 ? FullSubscription.OwnedPartitions : [], decoded.OwnedPartitions);
        Assert.Equal(version >= 2 ? 42 : -1, decoded.GenerationId);
        Assert.Equal(version >= 3 ? "rack-a" : null, decoded.RackId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Assignment_round_trips_in_each_version(short version)
    {
        byte[] bytes = ConsumerProtocolCodec.EncodeAssignment(FullAssignment, version);
        Assert.Equal(version, (short)((bytes[0] << 8) | bytes[1]));

        var decoded = ConsumerProtocolCodec.DecodeAssignment(bytes);

        Assert.Equal(FullAssignment.Partitions, decoded.Partitions);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, decoded.UserData!.Value.ToArray());
    }

    [Fact]
    public void Null_and_empty_user_data_stay_distinct()
    {
        var withNull = ConsumerProtocolCodec.DecodeSubscription(ConsumerProtocolCodec.EncodeSubscription(new ConsumerSubscription(["t"])));
        var withEmpty = ConsumerProtocolCodec.DecodeSubscription(ConsumerProtocolCodec.EncodeSubscription(new ConsumerSubscription(["t"]) { UserData = Array.Empty<byte>() }));

        Assert.Null(withNull.UserData);
        Assert.True(withEmpty.UserData is { IsEmpty: true });
    }

    [Fact]
    public void Owned_partitions_are_grouped_by_topic_and_flattened_back()
    {
        var subscription = new ConsumerSubscription(["a", "b"]) { OwnedPartitions = [Tp("a", 1), Tp("b", 0), Tp("a", 0)] };

        byte[] bytes = ConsumerProtocolCodec.EncodeSubscription(subscription, version: 1);
        var decoded = ConsumerProtocolCodec.DecodeSubscription(bytes);

        // One entry per topic in first-seen order: a [1, 0], b [0].
        Assert.Equal(["ap1", "ap0", "bp0"], Names(decoded.OwnedPartitions));
    }

    [Fact]
    public void Empty_rack_reads_as_no_rack()
    {
        byte[] bytes = ConsumerProtocolCodec.EncodeSubscription(new ConsumerSubscription(["t"]) { RackId = "" }, version: 3);

        Assert.Null(ConsumerProtocolCodec.DecodeSubscription(bytes).RackId);
    }

    [Fact]
    public void Newer_subscription_version_is_read_as_v3_and_trailing_fields_ignored()
    {
        byte[] v3 = ConsumerProtocolCodec.EncodeSubscription(FullSubscription, version: 3);
        byte[] v9 = [0x00, 0x09, .. v3.AsSpan(2), 0xDE, 0xAD, 0xBE, 0xEF];

        var decoded = ConsumerProtocolCodec.DecodeSubscription(v9);

        Assert.Equal(FullSubscription.Topics, decoded.Topics);
        Assert.Equal(FullSubscription.OwnedPartitions, decoded.OwnedPartitions);
        Assert.Equal(42, decoded.GenerationId);
        Assert.Equal("rack-a", decoded.RackId);
    }

    [Fact]
    public void Older_version_with_trailing_bytes_is_still_read()
    {
        byte[] v0 = ConsumerProtocolCodec.EncodeSubscription(FullSubscription, version: 0);

        var decoded = ConsumerProtocolCodec.DecodeSubscription((byte[])[.. v0, 1, 2, 3]);

        Assert.Equal(FullSubscription.Topics, decoded.Topics);
        Assert.Empty(decoded.OwnedPartitions);
    }

    [Fact]
    public void Newer_assignment_version_is_read_and_trailing_fields_ignored()
    {
        byte[] v3 = ConsumerProtocolCodec.EncodeAssignment(FullAssignment, version: 3);
        byte[] v7 = [0x00, 0x07, .. v3.AsSpan(2), 0x00, 0x00];

        Assert.Equal(FullAssignment.Partitions, ConsumerProtocolCodec.DecodeAssignment(v7).Partitions);
    }

    [Fact]
    public void Zero_assignment_bytes_read_as_an_empty_assignment()
    {
        var decoded = ConsumerProtocolCodec.DecodeAssignment(ReadOnlyMemory<byte>.Empty);

        Assert.Empty(decoded.Partitions);
        Assert.Null(decoded.UserData);
    }

    [Fact]
    public void Every_truncation_of_a_subscription_is_a_format_error()
    {
        byte[] bytes = ConsumerProtocolCodec.EncodeSubscription(FullSubscription, version: 3);
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<FormatException>(() => ConsumerProtocolCodec.DecodeSubscription(bytes.AsMemory(0, length)));
        }
    }

    [Fact]
    public void Every_truncation_of_an_assignment_is_a_format_error()
    {
        byte[] bytes = ConsumerProtocolCodec.EncodeAssignment(FullAssignment);
        for (int length = 1; length < bytes.Length; length++)
        {
            Assert.Throws<FormatException>(() => ConsumerProtocolCodec.DecodeAssignment(bytes.AsMemory(0, length)));
        }
    }

    [Theory]
    [InlineData("FFFF00000000FFFFFFFF")]         // version -1
    [InlineData("8000")]                         // version -32768, nothing else
    [InlineData("0000FFFFFFFFFFFFFFFF")]         // topics array null
    [InlineData("0000FFFFFFFE")]                 // topics array length -2
    [InlineData("00007FFFFFFF")]                 // 2^31-1 topics in no bytes
    [InlineData("000000000001FFFFFFFFFF")]       // one topic, string length -1 (null)
    [InlineData("000000000001FFFEFFFFFFFF")]     // one topic, string length -2
    [InlineData("0000000000010005616263")]       // topic length 5 but 3 bytes follow
    [InlineData("000000000000FFFFFFFE")]         // user data length -2
    [InlineData("0000000000000000000A0102")]     // user data length 10, 2 bytes
    [InlineData("000100000000FFFFFFFFFFFFFFFF")] // v1 owned partitions array null
    [InlineData("00010000000000000000000000010001610FFFFFFF")] // v1 owned: 2^28-1 partitions in 0 bytes
    public void Malformed_subscriptions_are_format_errors(string hex)
    {
        var ex = Assert.Throws<FormatException>(() => ConsumerProtocolCodec.DecodeSubscription(Convert.FromHexString(hex)));
        Assert.Contains("subscription", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00")]                           // half a version
    [InlineData("FFFE00000000FFFFFFFF")]         // version -2
    [InlineData("0000FFFFFFFFFFFFFFFF")]         // partitions array null
    [InlineData("00007FFFFFFFFFFFFFFF")]         // 2^31-1 topics
    [InlineData("0000000000010001610000000200000001")] // 2 partitions, 1 present
    [InlineData("00000000000100016100000001FFFFFFFF")] // partition -1, then no user data
    [InlineData("000000000001000161FFFFFFFFFFFFFFFF")] // a topic's partition array null
    public void Malformed_assignments_are_format_errors(string hex)
    {
        var ex = Assert.Throws<FormatException>(() => ConsumerProtocolCodec.DecodeAssignment(Convert.FromHexString(hex)));
        Assert.Contains("assignment", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryDecode_answers_the_decoded_value_or_false_where_Decode_would_throw()
    {
        // The broker reads members' bytes with TryDecode: a malformed member must not fail its request.
        byte[] subscription = ConsumerProtocolCodec.EncodeSubscription(FullSubscription);
        byte[] assignment = ConsumerProtocolCodec.EncodeAssignment(FullAssignment);

        Assert.True(ConsumerProtocolCodec.TryDecodeSubscription(subscription, out var decodedSubscription));
        Assert.Equal(FullSubscription.Topics, decodedSubscription.Topics);
        Assert.True(ConsumerProtocolCodec.TryDecodeAssignment(assignment, out var decodedAssignment));
        Assert.Equal(FullAssignment.Partitions, decodedAssignment.Partitions);

        Assert.False(ConsumerProtocolCodec.TryDecodeSubscription(subscription.AsMemory(0, subscription.Length - 1), out var noSubscription));
        Assert.Null(noSubscription);
        Assert.False(ConsumerProtocolCodec.TryDecodeAssignment(Convert.FromHexString("0000FFFFFFFFFFFFFFFF"), out var noAssignment));
        Assert.Null(noAssignment);
    }

    [Fact]
    public void Random_bytes_decode_or_fail_with_format_errors_only()
    {
        var rng = new Random(20240601);
        byte[] valid = ConsumerProtocolCodec.EncodeSubscription(FullSubscription);
        for (int i = 0; i < 5000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[rng.Next(0, 40)];
                rng.NextBytes(bytes);
            }
            else
            {
                // Flip a few bytes of a valid message so the structure is almost right.
                bytes = (byte[])valid.Clone();
                for (int k = rng.Next(1, 4); k > 0; k--)
                {
                    bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
                }
            }

            try
            {
                _ = ConsumerProtocolCodec.DecodeSubscription(bytes);
            }
            catch (FormatException)
            {
            }

            try
            {
                _ = ConsumerProtocolCodec.DecodeAssignment(bytes);
            }
            catch (FormatException)
            {
            }
        }
    }

    [Fact]
    public void Encoding_rejects_unknown_versions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsumerProtocolCodec.EncodeSubscription(FullSubscription, version: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsumerProtocolCodec.EncodeAssignment(FullAssignment, version: -1));
    }
}
