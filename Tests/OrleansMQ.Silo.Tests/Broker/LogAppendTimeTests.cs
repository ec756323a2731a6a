using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>message.timestamp.type=LogAppendTime: the broker's clock replaces the producer's.</summary>
public sealed class LogAppendTimeTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static readonly long Slack = 5_000;

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [InlineData(3, CompressionCodec.None)]
    [InlineData(5, CompressionCodec.Gzip)]
    [InlineData(9, CompressionCodec.None)]
    [InlineData(9, CompressionCodec.Gzip)]
    public async Task Batches_come_back_stamped_with_the_broker_time_and_a_valid_crc(short version, CompressionCodec codec)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"lat-v{version}-{codec}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("message.timestamp.type", "LogAppendTime"));
        long dayAgo = BrokerKit.Now - 86_400_000;
        byte[] sent = BrokerKit.Batch(3, dayAgo, codec, "lat");

        long before = BrokerKit.Now;
        var produced = await BrokerKit.ProduceAsync(client, topic, 0, sent, version);
        long after = BrokerKit.Now;

        Assert.Equal(ErrorCode.None, produced.ErrorCode);
        Assert.InRange(produced.LogAppendTimeMs, before - Slack, after + Slack);

        byte[] batch = Assert.Single(await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1));
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, int.MaxValue, out var info));
        Assert.True(info.IsLogAppendTime, "the timestamp-type bit is not set");
        Assert.Equal(produced.LogAppendTimeMs, info.MaxTimestamp);
        Assert.InRange(info.MaxTimestamp, before - Slack, after + Slack);
        Assert.Equal(codec, info.Compression);
        Assert.Equal(3, info.RecordCount);

        // Records are untouched: every byte after the header is the producer's.
        Assert.Equal(sent.AsSpan(RecordBatch.HeaderSize).ToArray(), batch.AsSpan(RecordBatch.HeaderSize).ToArray());
        Assert.Equal(["lat-0", "lat-1", "lat-2"], BrokerKit.ReadRecords(batch).Select(r => r.Trace));
        Assert.All(BrokerKit.ReadRecords(batch), r => Assert.Equal(info.MaxTimestamp, r.Timestamp));
    }

    [Fact]
    public async Task ListOffsets_by_time_uses_the_append_time_not_the_producers()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("lat-list");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("message.timestamp.type", "LogAppendTime"));
        long dayAgo = BrokerKit.Now - 86_400_000;
        var produced = await BrokerKit.ProduceAsync(client, topic, 0, BrokerKit.Batch(2, dayAgo));
        Assert.Equal(ErrorCode.None, produced.ErrorCode);
        await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);

        // An hour ago is after the producer's timestamps but before the append time.
        var found = await BrokerKit.ListOffsetAsync(client, topic, 0, BrokerKit.Now - 3_600_000);

        Assert.Equal(ErrorCode.None, found.ErrorCode);
        Assert.Equal(0, found.Offset);
        Assert.Equal(produced.LogAppendTimeMs, found.Timestamp);
    }

    [Fact]
    public async Task A_corrupt_batch_is_refused_not_resealed()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("lat-corrupt");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("message.timestamp.type", "LogAppendTime"));
        byte[] corrupt = BrokerKit.Batch(2, BrokerKit.Now);
        corrupt[^2] ^= 0x01;

        var produced = await BrokerKit.ProduceAsync(client, topic, 0, corrupt);

        Assert.Equal(ErrorCode.CorruptMessage, produced.ErrorCode);
        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(1, BrokerKit.Now)));
    }
}
