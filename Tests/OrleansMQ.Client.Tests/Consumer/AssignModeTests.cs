using System.Globalization;
using System.Text;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;
using static OrleansMQ.Client.Tests.Consumer.ConsumerTestKit;

namespace OrleansMQ.Client.Tests.Consumer;

/// <summary>Assign mode (no group) against a real silo, with data produced by kcat.</summary>
public sealed class AssignModeTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Broker:Port"] = TestSilo.FreePort().ToString(CultureInfo.InvariantCulture) });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private ConsumerOptions Options(AutoOffsetReset reset = AutoOffsetReset.Earliest) =>
        new() { Client = new ClientOptions { BootstrapServers = _silo.Bootstrap }, AutoOffsetReset = reset };

    [Fact]
    public async Task Reads_everything_kcat_produced_with_keys_and_headers_and_a_gzip_batch()
    {
        string topic = await CreateTopicAsync(_silo, "assign-all", 2);
        await ProduceAsync(_silo, topic, Enumerable.Range(0, 50).Select(i => $"k{i}:plain{i}"), partition: 0, headers: ["h1=v1", "h2=v2"]);
        await ProduceAsync(_silo, topic, Enumerable.Range(0, 25).Select(i => $"k{i}:gzip{i}" + new string('z', 200)), partition: 1);
        await ProduceBatchAsync(_silo, topic, 1, Enumerable.Range(25, 25).Select(i => ($"k{i}", $"gzip{i}" + new string('z', 200))), CompressionCodec.Gzip);

        await using var collector = new Collector(new KafkaConsumer(Options()), c => c.Assign([new TopicPartition(topic, 0), new TopicPartition(topic, 1)]));
        await WaitUntilAsync(() => collector.Records.Count >= 100 || collector.Error is not null, Wait, () => $"{collector.Records.Count} of 100 {collector.Error}");
        Assert.Null(collector.Error);

        var p0 = collector.Records.Where(r => r.Partition == 0).ToList();
        var p1 = collector.Records.Where(r => r.Partition == 1).ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), p0.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), p1.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"plain{i}"), p0.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"gzip{i}" + new string('z', 200)), p1.Select(r => Encoding.UTF8.GetString(r.Value!)));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"k{i}"), p1.Select(r => Encoding.UTF8.GetString(r.Key!)));
        Assert.All(p0, r => Assert.Equal([new ConsumeHeader("h1", "v1"u8.ToArray()), new ConsumeHeader("h2", "v2"u8.ToArray())], r.Headers.Select(h => h with { Value = h.Value }), HeaderComparer.Instance));
        Assert.All(collector.Records, r => Assert.True(Math.Abs((DateTimeOffset.UtcNow - r.Timestamp).TotalMinutes) < 5));
        Assert.Equal(50, collector.Consumer.Position(new TopicPartition(topic, 0)));
    }

    [Fact]
    public async Task A_corrupt_snappy_batch_is_a_typed_error_and_can_be_skipped_with_seek()
    {
        string topic = await CreateTopicAsync(_silo, "assign-snappy", 1);
        var tp = new TopicPartition(topic, 0);
        await ProduceAsync(_silo, topic, ["k:a0", "k:a1", "k:a2"], partition: 0);
        await ProduceBatchAsync(_silo, topic, 0, [("k", "s0"), ("k", "s1"), ("k", "s2")], fakeCodec: CompressionCodec.Snappy);
        await ProduceAsync(_silo, topic, ["k:b0", "k:b1", "k:b2"], partition: 0);

        await using var consumer = new KafkaConsumer(Options());
        consumer.Assign([tp]);
        var values = new List<string>();
        var errors = new List<KafkaConsumeException>();
        using var cts = new CancellationTokenSource(Wait);
        while (values.Count < 6)
        {
            try
            {
                await foreach (var r in consumer.ConsumeAsync(cts.Token))
                {
                    values.Add(Encoding.UTF8.GetString(r.Value!));
                    if (values.Count == 6)
                    {
                        break;
                    }
                }
            }
            catch (KafkaConsumeException ex)
            {
                errors.Add(ex);
                consumer.Seek(ex.TopicPartition, ex.NextOffset);
            }
        }

        Assert.Equal(["a0", "a1", "a2", "b0", "b1", "b2"], values);
        var error = Assert.Single(errors);
        Assert.Equal(ErrorCode.CorruptMessage, error.ErrorCode);
        Assert.Equal(tp, error.TopicPartition);
        Assert.Equal(3, error.Offset);
        Assert.Equal(6, error.NextOffset);
        Assert.Contains("Snappy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seek_pause_resume_and_position()
    {
        string topic = await CreateTopicAsync(_silo, "assign-seek", 2);
        var tp0 = new TopicPartition(topic, 0);
        var tp1 = new TopicPartition(topic, 1);
        await ProduceAsync(_silo, topic, Enumerable.Range(0, 20).Select(i => $"k:p0-{i}"), partition: 0);
        await ProduceAsync(_silo, topic, Enumerable.Range(0, 20).Select(i => $"k:p1-{i}"), partition: 1);

        await using var collector = new Collector(new KafkaConsumer(Options()), c => c.Assign([tp0]));
        var consumer = collector.Consumer;
        await WaitUntilAsync(() => collector.Records.Count >= 20, Wait, () => $"{collector.Records.Count}");
        Assert.Equal(20, consumer.Position(tp0));

        // Pause: nothing more of tp0, even when new records arrive; the other partition flows.
        consumer.Pause([tp0]);
        Assert.Equal([tp0], consumer.Paused);
        consumer.Assign([tp0, tp1]);
        await ProduceAsync(_silo, topic, Enumerable.Range(20, 5).Select(i => $"k:p0-{i}"), partition: 0);
        await WaitUntilAsync(() => collector.Records.Count(r => r.Partition == 1) >= 20, Wait, () => $"{collector.Records.Count}");
        await Task.Delay(1500);
        Assert.Equal(20, collector.Records.Count(r => r.Partition == 0));
        Assert.Equal(20, consumer.Position(tp0));

        // Resume: the rest, no gap, no repeat.
        consumer.Resume([tp0]);
        await WaitUntilAsync(() => collector.Records.Count(r => r.Partition == 0) >= 25, Wait, () => $"{collector.Records.Count}");
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), collector.Records.Where(r => r.Partition == 0).Select(r => r.Offset));

        // Seek back: the records from there again.
        consumer.Seek(tp0, 10);
        await WaitUntilAsync(() => collector.Records.Count(r => r.Partition == 0) >= 40, Wait, () => $"{collector.Records.Count}");
        Assert.Equal(Enumerable.Range(0, 25).Concat(Enumerable.Range(10, 15)).Select(i => (long)i), collector.Records.Where(r => r.Partition == 0).Select(r => r.Offset));
        Assert.Equal(25, consumer.Position(tp0));
        Assert.Throws<InvalidOperationException>(() => consumer.Seek(new TopicPartition(topic, 7), 0));
    }

    [Fact]
    public async Task Offset_out_of_range_follows_the_reset_policy()
    {
        string topic = await CreateTopicAsync(_silo, "assign-oor", 1);
        var tp = new TopicPartition(topic, 0);
        await ProduceAsync(_silo, topic, Enumerable.Range(0, 5).Select(i => $"k:v{i}"), partition: 0);

        // Earliest: a seek past the end resets to the start.
        await using (var collector = new Collector(new KafkaConsumer(Options()), c =>
        {
            c.Assign([tp]);
            c.Seek(tp, 1000);
        }))
        {
            await WaitUntilAsync(() => collector.Records.Count >= 5, Wait, () => $"{collector.Records.Count}");
            Assert.Equal([0L, 1, 2, 3, 4], collector.Records.Select(r => r.Offset));
        }

        // Error: a typed exception with OFFSET_OUT_OF_RANGE.
        await using (var consumer = new KafkaConsumer(Options(AutoOffsetReset.Error)))
        {
            consumer.Assign([tp]);
            consumer.Seek(tp, 1000);
            using var cts = new CancellationTokenSource(Wait);
            var error = await Assert.ThrowsAsync<KafkaConsumeException>(async () =>
            {
                await foreach (var r in consumer.ConsumeAsync(cts.Token))
                {
                }
            });
            Assert.Equal(ErrorCode.OffsetOutOfRange, error.ErrorCode);
            Assert.Equal(1000, error.Offset);
        }

        // Latest (Kafka's default): only what is produced after the assignment.
        await using (var collector = new Collector(new KafkaConsumer(Options(AutoOffsetReset.Latest)), c => c.Assign([tp])))
        {
            await WaitUntilAsync(() => collector.Consumer.Position(tp) == 5, Wait, () => $"position {collector.Consumer.Position(tp)}");
            await ProduceAsync(_silo, topic, ["k:late"], partition: 0);
            await WaitUntilAsync(() => collector.Records.Count >= 1, Wait, () => $"{collector.Records.Count}");
            Assert.Equal(["late"], collector.Values);
        }
    }

    [Fact]
    public async Task Bad_options_and_misuse_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new KafkaConsumer(Options() with { HeartbeatInterval = TimeSpan.FromSeconds(50) }));
        Assert.Throws<ArgumentException>(() => new KafkaConsumer(Options() with { GroupInstanceId = "x" }));
        await using var consumer = new KafkaConsumer(Options());
        Assert.Throws<InvalidOperationException>(() => consumer.Subscribe(["t"]));
        await Assert.ThrowsAsync<InvalidOperationException>(() => consumer.CommitAsync());
    }

    private sealed class HeaderComparer : IEqualityComparer<ConsumeHeader>
    {
        public static HeaderComparer Instance { get; } = new();

        public bool Equals(ConsumeHeader x, ConsumeHeader y) => x.Key == y.Key && (x.Value ?? []).AsSpan().SequenceEqual(y.Value ?? []);

        public int GetHashCode(ConsumeHeader obj) => obj.Key.GetHashCode(StringComparison.Ordinal);
    }
}
