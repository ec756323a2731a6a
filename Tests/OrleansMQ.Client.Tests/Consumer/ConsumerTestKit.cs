using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Client.Tests.Consumer;

/// <summary>Runs <see cref="KafkaConsumer.ConsumeAsync"/> in the background and keeps what it hands out.</summary>
internal sealed class Collector : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<ConsumeResult> _records = [];
    private readonly Task _run;

    /// <param name="setup">Subscribe or Assign: runs before the enumeration starts.</param>
    public Collector(KafkaConsumer consumer, Action<KafkaConsumer> setup, Func<ConsumeResult, Task>? onRecord = null)
    {
        Consumer = consumer;
        setup(consumer);
        _run = Task.Run(async () =>
        {
            try
            {
                await foreach (var r in consumer.ConsumeAsync(_cts.Token))
                {
                    lock (_records)
                    {
                        _records.Add(r);
                    }

                    if (onRecord is not null)
                    {
                        await onRecord(r);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
            {
                Error = ex;
            }
        });
    }

    public KafkaConsumer Consumer { get; }

    public Exception? Error { get; private set; }

    public List<ConsumeResult> Records
    {
        get
        {
            lock (_records)
            {
                return [.. _records];
            }
        }
    }

    public IEnumerable<string> Values => Records.Select(r => Encoding.UTF8.GetString(r.Value ?? []));

    public async Task StopAsync()
    {
        await _cts.CancelAsync();
        await _run;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Consumer.DisposeAsync();
        _cts.Dispose();
    }
}

internal static class ConsumerTestKit
{
    public static async Task<string> CreateTopicAsync(TestSilo silo, string name, int partitions)
    {
        var created = await silo.Topics.CreateAsync(name, partitions, 1, [], false);
        Assert.True(created.Error == OrleansMQ.Silo.Topics.TopicError.None, created.Message);
        return name;
    }

    /// <summary>kcat -P of "key:value" lines into one partition (or the partitioner's choice with -1).</summary>
    public static async Task ProduceAsync(TestSilo silo, string topic, IEnumerable<string> lines, int partition = -1, string? compression = null, params string[] headers)
    {
        string kcat = ExternalTool.Require("kcat");
        var args = new List<string> { "-b", silo.Bootstrap, "-P", "-t", topic, "-K:", "-X", "linger.ms=20" };
        if (partition >= 0)
        {
            args.AddRange(["-p", partition.ToString(CultureInfo.InvariantCulture)]);
        }

        if (compression is not null)
        {
            args.AddRange(["-z", compression]);
        }

        foreach (var h in headers)
        {
            args.AddRange(["-H", h]);
        }

        var r = await ExternalTool.RunAsync(kcat, args, string.Join('\n', lines) + "\n", TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"kcat produce failed: {r.Stderr}");
    }

    /// <summary>
    /// One batch produced with our codec, so the test decides exactly what is stored (one batch, its
    /// codec). A <paramref name="fakeCodec"/> relabels an uncompressed batch as another codec (with a
    /// valid CRC): compressed data that does not decode, as a consumer sees a corrupt batch.
    /// </summary>
    public static async Task ProduceBatchAsync(TestSilo silo, string topic, int partition, IEnumerable<(string Key, string Value)> records, CompressionCodec codec = CompressionCodec.None, CompressionCodec? fakeCodec = null)
    {
        var builder = new RecordBatchBuilder(codec);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var (key, value) in records)
        {
            builder.Add(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), now, [new("h", Encoding.UTF8.GetBytes(key))]);
        }

        byte[] batch = builder.Build();
        if (fakeCodec is { } fake)
        {
            short attributes = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatch.Attributes));
            System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.Attributes), (short)((attributes & ~RecordBatch.CompressionCodecMask) | (byte)fake));
            RecordBatch.RecomputeCrc(batch);
        }

        using var client = await silo.ConnectAsync();
        var request = new ProduceRequest { Acks = -1, TimeoutMs = 5000, Topics = [new ProduceRequest.Topic { Name = topic, Partitions = [new ProduceRequest.Partition { Index = partition, Records = batch }] }] };
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(request, 7);
        Assert.Equal(ErrorCode.None, response.Topics[0].Partitions[0].ErrorCode);
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Not reached in {timeout.TotalSeconds} s: {what()}");
            }

            await Task.Delay(50);
        }
    }

    public static void AssertExactlyOnce(IEnumerable<string> consumed, IReadOnlyCollection<string> expected)
    {
        var counts = consumed.GroupBy(v => v, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var duplicated = counts.Where(kv => kv.Value > 1).Select(kv => kv.Key).ToList();
        var missing = expected.Where(v => !counts.ContainsKey(v)).ToList();
        Assert.True(duplicated.Count == 0, $"{duplicated.Count} consumed more than once, e.g. {string.Join(", ", duplicated.Take(5))}");
        Assert.True(missing.Count == 0, $"{missing.Count} never consumed, e.g. {string.Join(", ", missing.Take(5))}");
    }
}
