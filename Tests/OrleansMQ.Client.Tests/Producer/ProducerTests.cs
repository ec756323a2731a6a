using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Client.Tests.Producer;

/// <summary>The producer against a real in-process silo, read back with kcat.</summary>
public sealed class ProducerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Broker:Port"] = TestSilo.FreePort().ToString(Inv) });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private ClientOptions Client => new() { BootstrapServers = _silo.Bootstrap, ReconnectBackoff = TimeSpan.FromMilliseconds(20), ReconnectBackoffMax = TimeSpan.FromMilliseconds(500) };

    private async Task CreateTopicAsync(string name, int partitions, params KeyValuePair<string, string?>[] configs)
    {
        var result = await _silo.Topics.CreateAsync(name, partitions, 1, configs, false);
        Assert.True(result.IsOk, $"create {name}: {result.Error}");
    }

    [Theory]
    [InlineData(CompressionCodec.None)]
    [InlineData(CompressionCodec.Gzip)]
    [InlineData(CompressionCodec.Snappy)]
    [InlineData(CompressionCodec.Lz4)]
    [InlineData(CompressionCodec.Zstd)]
    public async Task Keyed_records_with_headers_round_trip_and_land_where_java_puts_them(CompressionCodec codec)
    {
        string topic = "rt-" + codec.ToString().ToLowerInvariant();
        await CreateTopicAsync(topic, 6);
        await using var producer = new KafkaProducer(Client, new ProducerOptions { Compression = codec, Linger = TimeSpan.FromMilliseconds(20) });
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var tasks = Enumerable.Range(0, 120).Select(i => producer.ProduceAsync(
            topic,
            Encoding.UTF8.GetBytes($"key-{i}"),
            Encoding.UTF8.GetBytes($"value {i}"),
            [new("src", "omq"u8.ToArray()), new("i", Encoding.UTF8.GetBytes(i.ToString(Inv)))])).ToArray();
        var results = await Task.WhenAll(tasks);
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var expectedOffset = new long[6];
        for (int i = 0; i < results.Length; i++)
        {
            var r = results[i];
            Assert.Equal(topic, r.Topic);
            Assert.Equal(Murmur2.Partition(Encoding.UTF8.GetBytes($"key-{i}"), 6), r.Partition);
            Assert.Equal(expectedOffset[r.Partition]++, r.Offset); // in order per partition, no gaps
            Assert.InRange(r.Timestamp, before, after);
        }

        Assert.True(expectedOffset.Count(n => n > 0) >= 5, "keys spread over the partitions");
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, topic, "%p|%o|%k|%s|%h|%T\n");
        Assert.Equal(120, lines.Length);
        foreach (var line in lines)
        {
            var f = line.Split('|');
            int i = int.Parse(f[2]["key-".Length..], Inv);
            Assert.Equal(results[i].Partition.ToString(Inv), f[0]);
            Assert.Equal(results[i].Offset.ToString(Inv), f[1]);
            Assert.Equal($"value {i}", f[3]);
            Assert.Equal($"src=omq,i={i}", f[4]);
            Assert.Equal(results[i].Timestamp.ToString(Inv), f[5]);
        }
    }

    [Fact]
    public async Task Records_without_a_key_stick_to_one_partition_until_its_batch_is_full()
    {
        await CreateTopicAsync("sticky", 6);
        await using var producer = new KafkaProducer(Client, new ProducerOptions { BatchSize = 2048, Linger = TimeSpan.FromSeconds(30) });
        var collector = new Collector();
        byte[] value = new byte[50];
        for (int i = 0; i < 400; i++)
        {
            producer.Produce("sticky", value, onDelivery: collector, state: i);
        }

        await producer.FlushAsync();
        var partitions = collector.Reports.OrderBy(r => (int)r.State!).Select(r => r.Result.Partition).ToArray();
        Assert.Equal(400, partitions.Length);
        Assert.All(collector.Reports, r => Assert.True(r.IsSuccess));
        var runs = new List<(int Partition, int Length)>();
        foreach (int p in partitions)
        {
            if (runs.Count > 0 && runs[^1].Partition == p)
            {
                runs[^1] = (p, runs[^1].Length + 1);
            }
            else
            {
                runs.Add((p, 1));
            }
        }

        output.WriteLine(string.Join(' ', runs.Select(r => $"{r.Partition}x{r.Length}")));
        Assert.True(runs.Count >= 10, "moves on after each batch");
        int perBatch = runs[0].Length;
        Assert.InRange(perBatch, 20, 40); // ~2 KiB of ~60-byte records
        Assert.All(runs.Take(runs.Count - 1), r => Assert.InRange(r.Length, perBatch - 1, perBatch + 1));
        Assert.Equal(runs.Count, producer.BatchesSent); // one batch per stay
        Assert.True(partitions.Distinct().Count() >= 4);
    }

    [Theory]
    [InlineData(Acks.None)]
    [InlineData(Acks.Leader)]
    [InlineData(Acks.All)]
    public async Task Every_acks_setting_delivers(Acks acks)
    {
        string topic = "acks-" + acks.ToString().ToLowerInvariant();
        await CreateTopicAsync(topic, 1);
        await using (var producer = new KafkaProducer(Client, new ProducerOptions { Acks = acks }))
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => producer.ProduceAsync(topic, null, Encoding.UTF8.GetBytes($"m{i}"))));
            if (acks == Acks.None)
            {
                Assert.All(results, r => Assert.Equal(-1, r.Offset));
                Assert.Equal(-1, producer.ProducerId); // idempotence needs acks=all
            }
            else
            {
                Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), results.Select(r => r.Offset));
                Assert.Equal(acks == Acks.All, producer.ProducerId >= 0);
            }
        }

        string[] lines = [];
        for (int attempt = 0; attempt < 50 && lines.Length < 100; attempt++)
        {
            lines = await Kcat.ConsumeAsync(_silo.Bootstrap, topic, "%s\n");
            await Task.Delay(100);
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"m{i}"), lines);
    }

    [Fact]
    public async Task Linger_gathers_many_records_into_one_batch()
    {
        await CreateTopicAsync("linger", 1);
        await using var producer = new KafkaProducer(Client, new ProducerOptions { Linger = TimeSpan.FromMilliseconds(500), BatchSize = 1 << 20 });
        var collector = new Collector();
        await producer.ProduceAsync("linger", null, "warm-up"u8.ToArray()); // metadata and producer id
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++)
        {
            producer.Produce("linger", Encoding.UTF8.GetBytes($"k{i}"), new byte[100], onDelivery: collector, state: i);
        }

        await collector.WaitForAsync(1000, TimeSpan.FromSeconds(10));
        Assert.True(watch.ElapsedMilliseconds >= 450, $"sent after {watch.ElapsedMilliseconds} ms, before the linger");
        Assert.Equal(2, producer.BatchesSent); // the warm-up and one batch of 1000
        var reports = collector.Reports.OrderBy(r => (int)r.State!).ToArray();
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), reports.Select(r => r.Result.Offset));

        // The silo stored them as one batch: the batch starting at offset 1 ends at 1000.
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "linger", "%o\n");
        Assert.Equal(1001, lines.Length);
    }

    [Fact]
    public async Task A_silo_restart_mid_produce_neither_loses_nor_duplicates()
    {
        const int Total = 30_000;
        await CreateTopicAsync("restart", 3);
        var collector = new Collector();
        await using (var producer = new KafkaProducer(Client, new ProducerOptions { Linger = TimeSpan.FromMilliseconds(2), BatchSize = 8192, RetryBackoff = TimeSpan.FromMilliseconds(50) }))
        {
            var produce = Task.Run(async () =>
            {
                for (int i = 0; i < Total; i++)
                {
                    producer.Produce("restart", Encoding.UTF8.GetBytes($"k{i % 17}"), Encoding.UTF8.GetBytes(i.ToString(Inv)), onDelivery: collector, state: i);
                    if (i % 200 == 0)
                    {
                        await Task.Delay(2);
                    }
                }
            });
            while (collector.Count < Total / 4)
            {
                await Task.Delay(5);
            }

            await _silo.RestartAsync();
            output.WriteLine($"restarted after {collector.Count} acknowledged");
            await produce;
            await producer.FlushAsync();
            output.WriteLine($"retries {producer.Retries}, batches {producer.BatchesSent}");
            Assert.True(producer.Retries > 0, "the restart should have failed some sends");
        }

        Assert.Equal(Total, collector.Count);
        var failed = collector.Reports.Where(r => !r.IsSuccess).ToArray();
        Assert.True(failed.Length == 0, failed.FirstOrDefault().Error?.ToString());

        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "restart", "%p|%o|%k|%s\n");
        var seen = new HashSet<int>();
        var lastPerPartition = new Dictionary<int, int>();
        foreach (var line in lines)
        {
            var f = line.Split('|');
            int p = int.Parse(f[0], Inv);
            int i = int.Parse(f[3], Inv);
            Assert.True(seen.Add(i), $"message {i} appears twice");
            Assert.Equal($"k{i % 17}", f[2]);
            Assert.True(!lastPerPartition.TryGetValue(p, out int last) || last < i, $"partition {p}: {i} after {last}");
            lastPerPartition[p] = i;
        }

        Assert.Equal(Total, seen.Count);
        var byState = collector.Reports.ToDictionary(r => (int)r.State!);
        foreach (var line in lines)
        {
            var f = line.Split('|');
            var report = byState[int.Parse(f[3], Inv)];
            Assert.Equal(int.Parse(f[0], Inv), report.Result.Partition);
            Assert.Equal(long.Parse(f[1], Inv), report.Result.Offset);
        }
    }

    [Fact]
    public async Task A_stopped_silo_fills_the_buffer_then_produce_times_out_after_max_block()
    {
        var silo = await TestSilo.StartAsync();
        var client = new ClientOptions { BootstrapServers = silo.Bootstrap, ReconnectBackoff = TimeSpan.FromMilliseconds(20), ReconnectBackoffMax = TimeSpan.FromMilliseconds(200), ConnectTimeout = TimeSpan.FromSeconds(1) };
        var options = new ProducerOptions { BufferMemory = 256 * 1024, BatchSize = 16 * 1024, Linger = TimeSpan.FromMinutes(1), MaxBlock = TimeSpan.FromSeconds(1), CloseTimeout = TimeSpan.FromSeconds(1) };
        var collector = new Collector();
        int produced = 0;
        await using (var producer = new KafkaProducer(client, options))
        {
            producer.Produce("gone", "first"u8); // metadata and producer id
            await producer.FlushAsync();
            await silo.DisposeAsync();

            byte[] value = new byte[1000];
            KafkaTimeoutException? timeout = null;
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < 10_000 && timeout is null; i++)
            {
                watch.Restart();
                try
                {
                    producer.Produce("gone", value, onDelivery: collector, state: i);
                    produced++;
                }
                catch (KafkaTimeoutException ex)
                {
                    timeout = ex;
                }

                Assert.InRange(producer.BufferedBytes, 0, options.BufferMemory);
            }

            Assert.NotNull(timeout);
            Assert.InRange(watch.ElapsedMilliseconds, 900, 5000);
            Assert.InRange(produced, 240, 260); // 16 full batches of 16 records: 256 KiB of 1 KB records
            Assert.Equal(ErrorCode.RequestTimedOut, timeout.ErrorCode);
            Assert.Contains("BufferMemory", timeout.Message, StringComparison.Ordinal);
            Assert.Equal(0, collector.Count); // nothing delivered, nothing dropped yet
        }

        // Closing fails what could not be delivered, each record with a typed error.
        Assert.Equal(produced, collector.Count);
        Assert.All(collector.Reports, r => Assert.IsType<KafkaTimeoutException>(r.Error));
    }

    [Fact]
    public async Task A_record_fails_with_a_timeout_once_the_delivery_timeout_is_over()
    {
        var silo = await TestSilo.StartAsync();
        var client = new ClientOptions { BootstrapServers = silo.Bootstrap, ReconnectBackoff = TimeSpan.FromMilliseconds(20), ReconnectBackoffMax = TimeSpan.FromMilliseconds(200), ConnectTimeout = TimeSpan.FromSeconds(1) };
        await using var producer = new KafkaProducer(client, new ProducerOptions { DeliveryTimeout = TimeSpan.FromSeconds(1.5), RetryBackoff = TimeSpan.FromMilliseconds(50) });
        await producer.ProduceAsync("expiring", null, "first"u8.ToArray());
        await silo.DisposeAsync();

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<KafkaTimeoutException>(() => producer.ProduceAsync("expiring", null, "second"u8.ToArray()));
        Assert.InRange(watch.ElapsedMilliseconds, 1000, 6000);
        Assert.Contains("DeliveryTimeout", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, producer.BufferedBytes);
    }

    [Fact]
    public async Task A_broker_that_lost_the_producer_state_gets_a_new_producer_id_and_the_record()
    {
        await CreateTopicAsync("lost", 1);
        await using var producer = new KafkaProducer(Client);
        for (int i = 0; i < 3; i++)
        {
            await producer.ProduceAsync("lost", null, "before"u8.ToArray());
        }

        long first = producer.ProducerId;
        Assert.True(first >= 0);

        // The partition and its producer state are gone: the next batch (sequence 3) gets
        // UNKNOWN_PRODUCER_ID, and the producer starts over with a new id, as Kafka does.
        var deleted = await _silo.Topics.DeleteAsync("lost");
        Assert.True(deleted.IsOk, deleted.Error.ToString());
        await CreateTopicAsync("lost", 1);
        var result = await producer.ProduceAsync("lost", null, "after"u8.ToArray());
        Assert.Equal(0, result.Offset);
        Assert.NotEqual(first, producer.ProducerId);
        Assert.Equal(["after"], await Kcat.ConsumeAsync(_silo.Bootstrap, "lost", "%s\n"));
    }

    [Fact]
    public async Task A_record_larger_than_the_topic_allows_fails_with_MESSAGE_TOO_LARGE()
    {
        await CreateTopicAsync("small", 1, new KeyValuePair<string, string?>("max.message.bytes", "5000"));
        await using var producer = new KafkaProducer(Client);
        var error = await Assert.ThrowsAsync<KafkaException>(() => producer.ProduceAsync("small", null, new byte[10_000]));
        Assert.Equal(ErrorCode.MessageTooLarge, error.ErrorCode);
        Assert.False(error.IsRetriable);

        // The producer goes on (with a new producer id, as its sequence skipped the failed batch).
        var ok = await producer.ProduceAsync("small", null, new byte[100]);
        Assert.Equal(0, ok.Offset);

        // Larger than MaxRequestSize: refused before sending.
        var local = Assert.Throws<KafkaException>(() => producer.Produce("small", new byte[2 << 20]));
        Assert.Equal(ErrorCode.MessageTooLarge, local.ErrorCode);
    }

    [Fact]
    public async Task Dispose_delivers_everything_produced_before_it()
    {
        const int Total = 50_000;
        await CreateTopicAsync("close", 4);
        var collector = new Collector();
        await using (var producer = new KafkaProducer(Client, new ProducerOptions { Linger = TimeSpan.FromMilliseconds(50) }))
        {
            for (int i = 0; i < Total; i++)
            {
                producer.Produce("close", Encoding.UTF8.GetBytes($"k{i}"), Encoding.UTF8.GetBytes($"v{i}"), onDelivery: collector, state: i);
            }
        }

        Assert.Equal(Total, collector.Count);
        Assert.All(collector.Reports, r => Assert.True(r.IsSuccess));
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "close", "%s\n");
        Assert.Equal(Total, lines.Distinct().Count());
    }

    [Fact]
    public async Task Flush_waits_for_everything_produced_before_it()
    {
        await CreateTopicAsync("flush", 2);
        var collector = new Collector();
        await using var producer = new KafkaProducer(Client, new ProducerOptions { Linger = TimeSpan.FromSeconds(30) });
        for (int i = 0; i < 1000; i++)
        {
            producer.Produce("flush", Encoding.UTF8.GetBytes($"k{i}"), new byte[10], onDelivery: collector, state: i);
        }

        await producer.FlushAsync();
        Assert.Equal(1000, collector.Count);
        Assert.Equal(0, producer.BufferedBytes);
    }

    [Fact]
    public async Task Produce_allocates_nothing_per_record_in_steady_state()
    {
        await CreateTopicAsync("alloc", 1);
        var counter = new CountingHandler();
        await using var producer = new KafkaProducer(Client, new ProducerOptions { BatchSize = 512 * 1024, BufferMemory = 128L << 20, Linger = TimeSpan.FromMilliseconds(5) });
        byte[] key = "the-key"u8.ToArray();
        byte[] value = new byte[100];
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 200_000; i++)
            {
                producer.Produce("alloc", key, value, onDelivery: counter);
            }

            await producer.FlushAsync();
        }

        // The pools (batch buffers, batch objects, report slots) grow only while the number of
        // batches in flight reaches a new high; after that a record costs no allocation. Take the
        // best of a few runs so a run that hits a new high (a slow machine) does not count.
        const int N = 200_000;
        long allocated = long.MaxValue;
        double best = double.MaxValue;
        int measured = 0;
        for (int attempt = 0; attempt < 5 && allocated > 0; attempt++)
        {
            measured++;
            var watch = Stopwatch.StartNew();
            long start = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < N; i++)
            {
                producer.Produce("alloc", key, value, onDelivery: counter);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - start);
            await producer.FlushAsync();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }

        output.WriteLine($"{allocated} bytes allocated on the producing thread for {N} records; {N / best:N0} records/s produced and acknowledged");
        Assert.True(allocated < N / 100, $"{allocated} bytes for {N} records");
        Assert.Equal((3 * 200_000) + (measured * (long)N), counter.Count);
        Assert.Equal(0, counter.Failed);
    }

    private sealed class CountingHandler : IDeliveryHandler
    {
        private long _count;
        private long _failed;

        public long Count => Interlocked.Read(ref _count);

        public long Failed => Interlocked.Read(ref _failed);

        public void OnDelivery(in DeliveryReport report)
        {
            Interlocked.Increment(ref _count);
            if (!report.IsSuccess)
            {
                Interlocked.Increment(ref _failed);
            }
        }
    }

    private sealed class Collector : IDeliveryHandler
    {
        private readonly List<DeliveryReport> _reports = [];

        public int Count
        {
            get
            {
                lock (_reports)
                {
                    return _reports.Count;
                }
            }
        }

        public DeliveryReport[] Reports
        {
            get
            {
                lock (_reports)
                {
                    return [.. _reports];
                }
            }
        }

        public void OnDelivery(in DeliveryReport report)
        {
            lock (_reports)
            {
                _reports.Add(report);
            }
        }

        public async Task WaitForAsync(int count, TimeSpan timeout)
        {
            var watch = Stopwatch.StartNew();
            while (Count < count)
            {
                Assert.True(watch.Elapsed < timeout, $"{Count} of {count} reports after {timeout}");
                await Task.Delay(5);
            }
        }
    }
}
