using System.Globalization;
using System.Text;
using OrleansMQ.Cli;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Client.Tests.Compression;

/// <summary>
/// Compressed batches across clients, against a real silo: kcat (librdkafka) <c>-z</c> batches
/// read by the managed consumer, the managed producer's and <c>omq produce</c>'s batches read by
/// kcat — keys, values and headers compared byte for byte, and the stored batches checked for the
/// codec (a client may silently fall back to uncompressed batches; only the log tells).
/// </summary>
public sealed class CompressionInteropTests : IAsyncLifetime
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private TestSilo _silo = null!;
    private string _kcat = null!;

    public async Task InitializeAsync()
    {
        _kcat = ExternalTool.Require("kcat");
        _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Broker:Port"] = TestSilo.FreePort().ToString(Inv) });
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private ClientOptions Client => new() { BootstrapServers = _silo.Bootstrap };

    private async Task CreateTopicAsync(string topic)
    {
        var created = await _silo.Topics.CreateAsync(topic, 1, 1, [], false);
        Assert.True(created.IsOk, $"create {topic}: {created.Error}");
    }

    /// <summary>Line i: key "k{i % 11}", a value of printable bytes (no ':' or '\n') of varied length, some long enough for several LZ4 blocks and Snappy chunks per batch.</summary>
    private static (string Key, string Value)[] Records(int count, string tag) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var random = new Random(i);
            var value = new StringBuilder($"{tag}-{i}-");
            int length = i % 10 == 0 ? 5000 : 20 + (i * 37 % 700);
            while (value.Length < length)
            {
                value.Append(random.Next(4) == 0 ? (char)random.Next(33, 58) : "lorem ipsum "[random.Next(12)]);
            }

            return ($"k{i % 11}", value.ToString());
        })];

    private void AssertStoredAs(string topic, CompressionCodec codec, int records)
    {
        var stored = _silo.StoredBatches(topic, 0);
        Assert.NotEmpty(stored);
        Assert.Equal(records, stored.Sum(b => b.RecordCount));
        Assert.All(stored, b => Assert.Equal(codec, b.Compression));
    }

    [Theory]
    [InlineData("gzip", CompressionCodec.Gzip)]
    [InlineData("snappy", CompressionCodec.Snappy)]
    [InlineData("lz4", CompressionCodec.Lz4)]
    [InlineData("zstd", CompressionCodec.Zstd)]
    public async Task The_managed_consumer_reads_kcat_batches_in_every_codec_byte_exact(string name, CompressionCodec codec)
    {
        string topic = "kcat-z-" + name;
        await CreateTopicAsync(topic);
        var records = Records(400, name);
        string input = string.Concat(records.Select(r => $"{r.Key}:{r.Value}\n"));
        var produced = await ExternalTool.RunAsync(
            _kcat,
            ["-b", _silo.Bootstrap, "-P", "-t", topic, "-p", "0", "-K:", "-z", name, "-H", "codec=" + name, "-H", "bin=\u00e9\u00e8", "-X", "linger.ms=100", "-X", "batch.num.messages=150"],
            input,
            TimeSpan.FromSeconds(60));
        Assert.True(produced.ExitCode == 0, produced.Stderr);
        AssertStoredAs(topic, codec, records.Length);

        await using var consumer = new KafkaConsumer(new ConsumerOptions { Client = Client, AutoOffsetReset = AutoOffsetReset.Earliest });
        consumer.Assign([new TopicPartition(topic, 0)]);
        var got = new List<ConsumeResult>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var r in consumer.ConsumeAsync(cts.Token))
        {
            got.Add(r);
            if (got.Count == records.Length)
            {
                break;
            }
        }

        for (int i = 0; i < records.Length; i++)
        {
            Assert.Equal(i, got[i].Offset);
            Assert.Equal(Encoding.UTF8.GetBytes(records[i].Key), got[i].Key);
            Assert.Equal(Encoding.UTF8.GetBytes(records[i].Value), got[i].Value);
            Assert.Equal(2, got[i].Headers.Count);
            Assert.Equal("codec", got[i].Headers[0].Key);
            Assert.Equal(Encoding.UTF8.GetBytes(name), got[i].Headers[0].Value);
            Assert.Equal("bin", got[i].Headers[1].Key);
            Assert.Equal("\u00e9\u00e8"u8.ToArray(), got[i].Headers[1].Value);
        }
    }

    [Theory]
    [InlineData(CompressionCodec.Gzip)]
    [InlineData(CompressionCodec.Snappy)]
    [InlineData(CompressionCodec.Lz4)]
    [InlineData(CompressionCodec.Zstd)]
    public async Task Kcat_reads_the_managed_producers_large_compressed_batches_byte_exact(CompressionCodec codec)
    {
        string topic = "omq-z-" + codec.ToString().ToLowerInvariant();
        await CreateTopicAsync(topic);
        var records = Records(600, codec.ToString());

        // 256 KiB batches: several Snappy chunks (32 KiB) and LZ4 blocks (64 KiB) per batch.
        await using (var producer = new KafkaProducer(Client, new ProducerOptions { Compression = codec, BatchSize = 256 * 1024, Linger = TimeSpan.FromMilliseconds(50) }))
        {
            var reports = new Reports();
            foreach (var (key, value) in records)
            {
                producer.Produce(topic, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), [new("z", "\u00e9!"u8.ToArray())], reports);
            }

            await producer.FlushAsync();
            Assert.Equal(records.Length, reports.Succeeded);
        }

        AssertStoredAs(topic, codec, records.Length);
        Assert.True(_silo.StoredBatches(topic, 0).Count < records.Length / 10, "records share batches");
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, topic, "%o|%k|%s|%h\n");
        Assert.Equal(records.Select((r, i) => $"{i}|{r.Key}|{r.Value}|z=\u00e9!"), lines);
    }

    [Fact]
    public async Task Omq_produce_with_zstd_is_read_by_kcat()
    {
        await CreateTopicAsync("omq-cli-zstd");
        var records = Records(300, "cli");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(string.Concat(records.Select(r => $"{r.Key}:{r.Value}\n"))));
        int exit = await OmqCli.RunAsync(["produce", "omq-cli-zstd", "-k", ":", "--compression", "zstd", "--linger-ms", "50", "-b", _silo.Bootstrap], stdout, stderr, input, stderrIsTerminal: false, _ => null);
        Assert.True(exit == 0, stderr.ToString());

        AssertStoredAs("omq-cli-zstd", CompressionCodec.Zstd, records.Length);
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "omq-cli-zstd", "%k|%s\n");
        Assert.Equal(records.Select(r => $"{r.Key}|{r.Value}"), lines);
    }

    private sealed class Reports : IDeliveryHandler
    {
        private int _succeeded;

        public int Succeeded => Volatile.Read(ref _succeeded);

        public void OnDelivery(in DeliveryReport report)
        {
            if (report.Error is null)
            {
                Interlocked.Increment(ref _succeeded);
            }
        }
    }
}
