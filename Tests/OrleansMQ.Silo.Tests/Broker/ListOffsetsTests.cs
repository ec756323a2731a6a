using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// ListOffsets v0–v6 against one topic of six records with known timestamps:
/// <code>
/// offset     0    1    2  |  3     4   |  5
/// timestamp  T   T+10 T+20 | T+100 T+110 | T+200     (the middle batch is gzip)
/// </code>
/// </summary>
public sealed class ListOffsetsTests(ListOffsetsTests.Fixture fixture) : IClassFixture<ListOffsetsTests.Fixture>
{
    public static readonly TheoryData<short> AllVersions = [0, 1, 2, 3, 4, 5, 6];

    public static readonly TheoryData<short> TimestampVersions = [1, 2, 3, 4, 5, 6];

    private long T => fixture.T;

    private string Topic => fixture.Topic;

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task Earliest_is_the_log_start_and_latest_the_high_watermark(short version)
    {
        using var client = await fixture.Silo.ConnectAsync();

        var earliest = await BrokerKit.ListOffsetAsync(client, Topic, 0, ListOffsetsRequest.EarliestTimestamp, version);
        var latest = await BrokerKit.ListOffsetAsync(client, Topic, 0, ListOffsetsRequest.LatestTimestamp, version);

        Assert.Equal(ErrorCode.None, earliest.ErrorCode);
        Assert.Equal(ErrorCode.None, latest.ErrorCode);
        if (version == 0)
        {
            Assert.Equal([0L], earliest.OldStyleOffsets);
            Assert.Equal([6L], latest.OldStyleOffsets);
        }
        else
        {
            Assert.Equal(0, earliest.Offset);
            Assert.Equal(6, latest.Offset);
        }
    }

    [Theory]
    [MemberData(nameof(TimestampVersions))]
    public async Task A_timestamp_finds_the_first_record_at_or_after_it(short version)
    {
        using var client = await fixture.Silo.ConnectAsync();
        (long Asked, long Offset, long Timestamp)[] cases =
        [
            (T - 60_000, 0, T),
            (T, 0, T),
            (T + 1, 1, T + 10),
            (T + 15, 2, T + 20),
            (T + 21, 3, T + 100),
            (T + 100, 3, T + 100),
            (T + 105, 4, T + 110), // inside the gzip batch
            (T + 111, 5, T + 200),
            (T + 200, 5, T + 200),
        ];

        foreach (var (asked, offset, timestamp) in cases)
        {
            var p = await BrokerKit.ListOffsetAsync(client, Topic, 0, asked, version);
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            Assert.True(offset == p.Offset, $"timestamp T{asked - T:+#;-#;+0}: offset {p.Offset}, expected {offset}");
            Assert.True(timestamp == p.Timestamp, $"timestamp T{asked - T:+#;-#;+0}: record timestamp T{p.Timestamp - T:+#;-#;+0}, expected T{timestamp - T:+#;-#;+0}");
            if (version >= 4)
            {
                Assert.True(p.LeaderEpoch >= 0);
            }
        }
    }

    [Theory]
    [MemberData(nameof(TimestampVersions))]
    public async Task A_timestamp_after_the_last_record_is_offset_minus_one(short version)
    {
        using var client = await fixture.Silo.ConnectAsync();

        var p = await BrokerKit.ListOffsetAsync(client, Topic, 0, T + 201, version);

        Assert.Equal(ErrorCode.None, p.ErrorCode);
        Assert.Equal(-1, p.Offset);
        Assert.Equal(-1, p.Timestamp);
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task An_unknown_topic_or_partition_is_UNKNOWN_TOPIC_OR_PARTITION(short version)
    {
        using var client = await fixture.Silo.ConnectAsync();

        var unknownTopic = await BrokerKit.ListOffsetAsync(client, BrokerKit.NewTopic("lo-unknown"), 0, ListOffsetsRequest.LatestTimestamp, version);
        var unknownPartition = await BrokerKit.ListOffsetAsync(client, Topic, 1, ListOffsetsRequest.LatestTimestamp, version);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknownTopic.ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknownPartition.ErrorCode);
    }

    /// <summary>The silo and the six-record topic, written once for the class.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TestSilo Silo { get; private set; } = null!;

        public string Topic { get; } = BrokerKit.NewTopic("list-offsets");

        /// <summary>An hour ago: well inside the default retention.</summary>
        public long T { get; } = BrokerKit.Now - 3_600_000;

        public async Task InitializeAsync()
        {
            Silo = await TestSilo.StartAsync();
            using var client = await Silo.ConnectAsync();
            await BrokerKit.CreateTopicOkAsync(client, Topic, 1);
            Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, Topic, 0, BrokerKit.Batch(3, T, CompressionCodec.None, "a")));
            Assert.Equal(3, await BrokerKit.ProduceOkAsync(client, Topic, 0, BrokerKit.Batch(2, T + 100, CompressionCodec.Gzip, "b")));
            Assert.Equal(5, await BrokerKit.ProduceOkAsync(client, Topic, 0, BrokerKit.Batch(1, T + 200, CompressionCodec.None, "c")));
            await BrokerKit.ConsumeBatchesAsync(client, Topic, 0, 0, 3);
        }

        public async Task DisposeAsync() => await Silo.DisposeAsync();
    }
}
