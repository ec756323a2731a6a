using System.Buffers;
using System.Text;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// kcat (librdkafka 2.0.2, a real C Kafka client) against a real silo: metadata, produce with
/// keys, headers and every compression codec, consume from the beginning, an offset and the end,
/// timestamp lookup, idempotent produce.
/// </summary>
public sealed class KcatTests : IAsyncLifetime
{
    private TestSilo _silo = null!;
    private string _kcat = null!;

    public async Task InitializeAsync()
    {
        _kcat = ExternalTool.Require("kcat");
        _silo = await TestSilo.StartAsync();
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private Task<ExternalTool.Result> Kcat(string? stdin, params string[] args) =>
        ExternalTool.RunAsync(_kcat, ["-b", _silo.Bootstrap, "-X", "socket.timeout.ms=10000", .. args], stdin, TimeSpan.FromSeconds(60));

    private async Task<string[]> ConsumeAll(string topic, string format, string offset = "beginning", params string[] extra)
    {
        var r = await Kcat(null, ["-C", "-t", topic, "-o", offset, "-e", "-q", "-f", format, .. extra]);
        Assert.True(r.ExitCode == 0, $"kcat consume failed: {r.Stderr}");
        return r.Lines;
    }

    [Fact]
    public async Task Metadata_lists_the_broker_and_topics()
    {
        var produce = await Kcat("x\n", "-P", "-t", "meta-topic");
        Assert.Equal(0, produce.ExitCode);
        var r = await Kcat(null, "-L");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"broker 0 at 127.0.0.1:{_silo.Port} (controller)", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("topic \"meta-topic\" with 1 partitions", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("partition 0, leader 0, replicas: 0, isrs: 0", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_and_headers_round_trip()
    {
        var input = string.Join('\n', Enumerable.Range(0, 50).Select(i => $"key{i}:value {i}")) + "\n";
        var p = await Kcat(input, "-P", "-t", "keyed", "-K:", "-H", "source=kcat", "-H", "n=1");
        Assert.True(p.ExitCode == 0, p.Stderr);
        var lines = await ConsumeAll("keyed", "%o|%k|%s|%h\n");
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"{i}|key{i}|value {i}|source=kcat,n=1"), lines);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task Every_compression_codec_is_stored_and_served(string codec)
    {
        string topic = "codec-" + codec;
        // Every record compressible on its own: librdkafka sends a batch uncompressed when the
        // codec would not shrink it, which a one- or two-record batch of short values (what a
        // loaded machine's linger window can cut) would not be.
        var input = string.Join('\n', Enumerable.Range(0, 200).Select(i => $"k{i % 7}:{codec} message {i} " + new string('z', 100 + (i % 50)))) + "\n";
        var p = await Kcat(input, "-P", "-t", topic, "-z", codec, "-K:", "-X", "linger.ms=50");
        Assert.True(p.ExitCode == 0, p.Stderr);
        var lines = await ConsumeAll(topic, "%k|%s\n");
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"k{i % 7}|{codec} message {i} " + new string('z', 100 + (i % 50))), lines);

        // librdkafka silently sends uncompressed batches when it thinks the broker cannot take
        // the codec (2.0.2 does so for gzip/snappy/lz4 unless Produce v0 is advertised), and the
        // records come back the same either way: only the stored batches tell.
        var expected = Enum.Parse<CompressionCodec>(codec, ignoreCase: true);
        var stored = _silo.StoredBatches(topic, 0);
        Assert.NotEmpty(stored);
        Assert.Equal(200, stored.Sum(b => b.RecordCount));
        Assert.All(stored, b => Assert.Equal(expected, b.Compression));
    }

    [Fact]
    public async Task Consume_from_an_offset_and_from_the_end()
    {
        var p = await Kcat(string.Join('\n', Enumerable.Range(0, 20).Select(i => $"m{i}")) + "\n", "-P", "-t", "offsets");
        Assert.True(p.ExitCode == 0, p.Stderr);
        Assert.Equal(Enumerable.Range(12, 8).Select(i => $"{i} m{i}"), await ConsumeAll("offsets", "%o %s\n", "12"));
        Assert.Equal(Enumerable.Range(17, 3).Select(i => $"{i} m{i}"), await ConsumeAll("offsets", "%o %s\n", "-3"));
        Assert.Empty(await ConsumeAll("offsets", "%o %s\n", "end"));

        // A consumer waiting at the end sees exactly what is produced after it started.
        using var tail = ExternalTool.Start(_kcat, ["-b", _silo.Bootstrap, "-C", "-t", "offsets", "-o", "end", "-c", "3", "-q", "-f", "%o %s\n"]);
        await Task.Delay(1500); // let it reach the end and start long-polling
        var more = await Kcat("late1\nlate2\nlate3\n", "-P", "-t", "offsets");
        Assert.True(more.ExitCode == 0, more.Stderr);
        var output = await tail.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(new[] { "20 late1", "21 late2", "22 late3" }, output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Timestamp_lookup_finds_the_first_message_at_or_after_it()
    {
        // Batches with known timestamps, produced with our own client (kcat cannot set them).
        using (var client = await _silo.ConnectAsync())
        {
            for (int i = 0; i < 5; i++)
            {
                var builder = new RecordBatchBuilder();
                builder.Add(Encoding.UTF8.GetBytes($"t{i}"), 1_700_000_000_000 + (i * 1000));
                var request = new ProduceRequest { Acks = 1, TimeoutMs = 5000, Topics = [new ProduceRequest.Topic { Name = "timed", Partitions = [new ProduceRequest.Partition { Index = 0, Records = builder.Build() }] }] };
                var response = await client.SendAsync<ProduceRequest, ProduceResponse>(request, 7);
                Assert.Equal(ErrorCode.None, response.Topics[0].Partitions[0].ErrorCode);
            }
        }

        var q = await Kcat(null, "-Q", "-t", "timed:0:1700000002500");
        Assert.True(q.ExitCode == 0, q.Stderr);
        Assert.Contains("timed [0] offset 3", q.Stdout, StringComparison.Ordinal);
        var first = await Kcat(null, "-Q", "-t", "timed:0:1600000000000");
        Assert.Contains("timed [0] offset 0", first.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idempotent_produce_stores_every_message_once()
    {
        var input = string.Join('\n', Enumerable.Range(0, 1000).Select(i => $"idem-{i}")) + "\n";
        var p = await Kcat(input, "-P", "-t", "idem", "-X", "enable.idempotence=true", "-X", "linger.ms=5", "-X", "batch.num.messages=50");
        Assert.True(p.ExitCode == 0, p.Stderr);
        var lines = await ConsumeAll("idem", "%o %s\n");
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"{i} idem-{i}"), lines);
    }

    [Fact]
    public async Task A_large_message_round_trips()
    {
        string big = new('B', 700_000);
        var p = await Kcat(big + "\n", "-P", "-t", "big", "-X", "message.max.bytes=2000000");
        Assert.True(p.ExitCode == 0, p.Stderr);
        var lines = await ConsumeAll("big", "%S %s\n", "beginning", "-X", "fetch.message.max.bytes=100000");
        Assert.Equal($"{big.Length} {big}", Assert.Single(lines));
    }
}
