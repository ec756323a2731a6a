using System.Globalization;
using System.Text;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using static OrleansMQ.Client.Tests.Consumer.ConsumerTestKit;

namespace OrleansMQ.Client.Tests.Consumer;

/// <summary>kafkajs 2.2.4 produces (idempotent, plain and gzip, keys and headers); our consumer, in a group, reads every message once.</summary>
public sealed class KafkajsInteropTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0" });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    public async Task Our_group_consumer_reads_what_kafkajs_produced(string codec)
    {
        string topic = await CreateTopicAsync(_silo, "js-to-omq-" + codec, 3);
        const int Count = 600;
        var produced = await ExternalTool.RunAsync(ExternalTool.Require("node"), ["produce.js", _silo.Bootstrap, topic, Count.ToString(CultureInfo.InvariantCulture), codec], timeout: Wait, workingDirectory: KafkajsTests.ScriptDirectory());
        Assert.True(produced.ExitCode == 0, $"kafkajs producer failed: {produced.Stderr}");

        var options = new ConsumerOptions
        {
            Client = new ClientOptions { BootstrapServers = _silo.Bootstrap },
            GroupId = "js-readers-" + codec,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeout = TimeSpan.FromSeconds(6),
        };
        await using var collector = new Collector(new KafkaConsumer(options), c => c.Subscribe([topic]));
        await WaitUntilAsync(() => collector.Records.Count >= Count || collector.Error is not null, Wait, () => $"{collector.Records.Count} of {Count} {collector.Error}");
        Assert.Null(collector.Error);

        var records = collector.Records.ToList();
        Assert.Equal(Count, records.Count);
        var byKey = records.ToDictionary(r => Encoding.UTF8.GetString(r.Key!));
        for (int i = 0; i < Count; i++)
        {
            var r = byKey[$"k{i}"];
            Assert.Equal($"v{i}", Encoding.UTF8.GetString(r.Value!));
            var header = Assert.Single(r.Headers);
            Assert.Equal("trace", header.Key);
            Assert.Equal($"{i}", Encoding.UTF8.GetString(header.Value!));
        }

        // Per partition: offsets 0..n-1 in order (each message once, none skipped).
        foreach (var partition in records.GroupBy(r => r.Partition))
        {
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(o => (long)o), partition.Select(r => r.Offset));
        }
    }
}
