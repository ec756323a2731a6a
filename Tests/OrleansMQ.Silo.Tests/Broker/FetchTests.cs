using System.Diagnostics;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>Fetch: offsets out of range, long polling and the size limits.</summary>
public sealed class FetchTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> SomeVersions = [4, 7, 11, 12];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(SomeVersions))]
    public async Task An_offset_past_the_end_is_OFFSET_OUT_OF_RANGE_with_the_high_watermark(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"oor-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(3, BrokerKit.Now));
        await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);

        var p = await BrokerKit.FetchAsync(client, topic, 0, 10, version, maxWaitMs: 2000, minBytes: 1);

        Assert.Equal(ErrorCode.OffsetOutOfRange, p.ErrorCode);
        Assert.Equal(3, p.HighWatermark);
        Assert.Empty(BrokerKit.SplitBatches(p.Records));

        // The end itself is not out of range: it is where a caught-up consumer waits.
        var atEnd = await BrokerKit.FetchAsync(client, topic, 0, 3, version);
        Assert.Equal(ErrorCode.None, atEnd.ErrorCode);
        Assert.Equal(3, atEnd.HighWatermark);
        Assert.Empty(BrokerKit.SplitBatches(atEnd.Records));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(12)]
    public async Task A_long_poll_at_the_end_is_answered_soon_after_a_produce_on_another_connection(short version)
    {
        using var consumer = await Silo.ConnectAsync();
        using var producer = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"poll-v{version}");
        await BrokerKit.CreateTopicOkAsync(consumer, topic, 1);
        byte[] batch = BrokerKit.Batch(2, BrokerKit.Now);

        var watch = Stopwatch.StartNew();
        var fetch = BrokerKit.FetchAsync(consumer, topic, 0, 0, version, maxWaitMs: 5000, minBytes: 1);
        await Task.Delay(300);
        Assert.False(fetch.IsCompleted, "the fetch returned before any data arrived");
        await BrokerKit.ProduceOkAsync(producer, topic, 0, batch);
        var p = await fetch;
        watch.Stop();

        Assert.Equal(ErrorCode.None, p.ErrorCode);
        Assert.Equal(BrokerKit.Stamped(batch, 0), Assert.Single(BrokerKit.SplitBatches(p.Records)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"the fetch took {watch.Elapsed.TotalMilliseconds:F0} ms of its 5000 ms max_wait");
    }

    [Theory]
    [InlineData(4)]
    [InlineData(12)]
    public async Task A_long_poll_with_no_data_returns_empty_after_about_max_wait(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"idle-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);

        var watch = Stopwatch.StartNew();
        var p = await BrokerKit.FetchAsync(client, topic, 0, 0, version, maxWaitMs: 1500, minBytes: 1);
        watch.Stop();

        Assert.Equal(ErrorCode.None, p.ErrorCode);
        Assert.Equal(0, p.HighWatermark);
        Assert.Equal(0, p.Records?.Length ?? 0);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(1200), $"the fetch returned after {watch.Elapsed.TotalMilliseconds:F0} ms of its 1500 ms max_wait");
    }

    [Fact]
    public async Task A_long_poll_on_a_topic_that_is_deleted_meanwhile_returns_soon_with_UNKNOWN_TOPIC_OR_PARTITION()
    {
        using var consumer = await Silo.ConnectAsync();
        using var admin = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("poll-deleted");
        await BrokerKit.CreateTopicOkAsync(consumer, topic, 1);

        var watch = Stopwatch.StartNew();
        var fetch = BrokerKit.FetchAsync(consumer, topic, 0, 0, 12, maxWaitMs: 5000, minBytes: 1);
        await Task.Delay(300);
        var deleted = await admin.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = [topic] }, 4);
        Assert.Equal(ErrorCode.None, Assert.Single(deleted.Responses).ErrorCode);
        var p = await fetch;
        watch.Stop();

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, p.ErrorCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"the fetch took {watch.Elapsed.TotalMilliseconds:F0} ms of its 5000 ms max_wait");
    }

    [Theory]
    [MemberData(nameof(SomeVersions))]
    public async Task A_partition_max_bytes_smaller_than_one_batch_still_returns_that_whole_batch(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"pmax-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        byte[] first = BrokerKit.Batch(4, BrokerKit.Now, valueSize: 500);
        byte[] second = BrokerKit.Batch(4, BrokerKit.Now, valueSize: 500);
        await BrokerKit.ProduceOkAsync(client, topic, 0, first);
        await BrokerKit.ProduceOkAsync(client, topic, 0, second);
        await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 2);

        var p = await BrokerKit.FetchAsync(client, topic, 0, 0, version, partitionMaxBytes: 100);

        Assert.Equal(ErrorCode.None, p.ErrorCode);
        Assert.Equal(BrokerKit.Stamped(first, 0), p.Records!.Value.ToArray()); // exactly the first batch, whole
    }

    [Theory]
    [MemberData(nameof(SomeVersions))]
    public async Task A_max_bytes_smaller_than_one_batch_gives_data_to_the_first_partition_only(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"max-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 2);
        byte[] zero = BrokerKit.Batch(3, BrokerKit.Now, tag: "p0", valueSize: 300);
        byte[] one = BrokerKit.Batch(3, BrokerKit.Now, tag: "p1", valueSize: 300);
        await BrokerKit.ProduceOkAsync(client, topic, 0, zero);
        await BrokerKit.ProduceOkAsync(client, topic, 1, one);
        await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);
        await BrokerKit.ConsumeBatchesAsync(client, topic, 1, 0, 1);

        var request = new FetchRequest
        {
            MaxWaitMs = 0,
            MinBytes = 1,
            MaxBytes = 100,
            Topics =
            [
                new FetchRequest.Topic
                {
                    Name = topic,
                    Partitions =
                    [
                        new FetchRequest.Partition { PartitionIndex = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 },
                        new FetchRequest.Partition { PartitionIndex = 1, FetchOffset = 0, PartitionMaxBytes = 1 << 20 },
                    ],
                },
            ],
        };
        var response = await client.SendAsync<FetchRequest, FetchResponse>(request, version);

        var partitions = Assert.Single(response.Topics).Partitions;
        Assert.Equal(2, partitions.Count);
        var p0 = Assert.Single(partitions, p => p.PartitionIndex == 0);
        var p1 = Assert.Single(partitions, p => p.PartitionIndex == 1);
        Assert.Equal(ErrorCode.None, p0.ErrorCode);
        Assert.Equal(ErrorCode.None, p1.ErrorCode);
        Assert.Equal(BrokerKit.Stamped(zero, 0), p0.Records!.Value.ToArray());
        Assert.Equal(0, p1.Records?.Length ?? 0);
        Assert.Equal(3, p1.HighWatermark); // the partition is reported, just without data
    }

    [Theory]
    [MemberData(nameof(SomeVersions))]
    public async Task An_unknown_topic_or_partition_is_UNKNOWN_TOPIC_OR_PARTITION_at_once(short version)
    {
        using var client = await Silo.ConnectAsync();
        string known = BrokerKit.NewTopic($"known-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, known, 1);
        string unknown = BrokerKit.NewTopic($"unknown-v{version}");

        var watch = Stopwatch.StartNew();
        var p = await BrokerKit.FetchAsync(client, unknown, 0, 0, version, maxWaitMs: 5000, minBytes: 1);
        var q = await BrokerKit.FetchAsync(client, known, 3, 0, version, maxWaitMs: 5000, minBytes: 1);
        watch.Stop();

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, p.ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, q.ErrorCode);
        Assert.Equal(0, p.Records?.Length ?? 0);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"errors waited {watch.Elapsed.TotalMilliseconds:F0} ms");

        // Fetch never creates topics.
        Assert.DoesNotContain(unknown, await BrokerKit.AllTopicNamesAsync(client));
    }

    [Fact]
    public async Task Records_read_back_with_the_record_reader_match_what_was_produced()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("records");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long t0 = BrokerKit.Now;
        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(4, t0, CompressionCodec.Gzip, "rr"));

        byte[] batch = Assert.Single(await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1));

        Assert.Equal(BatchError.None, RecordBatch.TryReadInfo(batch, out var info));
        Assert.Equal(CompressionCodec.Gzip, info.Compression);
        var seen = BrokerKit.ReadRecords(batch);

        Assert.Equal(4, seen.Count);
        Assert.Equal(["key-rr-0", "key-rr-1", null, "key-rr-3"], seen.Select(s => s.Key));
        Assert.All(seen, s => Assert.StartsWith("value-rr-", s.Value, StringComparison.Ordinal));
        Assert.Equal([t0, t0 + 10, t0 + 20, t0 + 30], seen.Select(s => s.Timestamp));
        Assert.Equal(["rr-0", "rr-1", "rr-2", "rr-3"], seen.Select(s => s.Trace));
    }
}
