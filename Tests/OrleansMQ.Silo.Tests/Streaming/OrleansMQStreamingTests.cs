using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.TestingHost;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Producer;
using OrleansMQ.Streaming;
using OrleansMQ.Streaming.Hosting;
using OrleansMQ.Streaming.Providers;
using OrleansMQ.Silo.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Streaming;

/// <summary>
/// The stream provider end to end: one real OrleansMQ silo process (embedded defaults, its own data
/// directory) and an in-process Orleans test cluster of two silos whose implicit subscriber grains
/// read the topic through <c>AddOrleansMQStreams</c>; events are produced from the Orleans client.
/// </summary>
#pragma warning disable CA1001 // the broker process is disposed in DisposeAsync (IAsyncLifetime)
public sealed class OrleansMQStreamingTests(ITestOutputHelper output) : IAsyncLifetime
#pragma warning restore CA1001
{
    public const string Namespace = "omq-test-events";
    private const string Provider = "omq";
    private const int Partitions = 4;
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(45);

    // Keys carry a per-test prefix: the event log is static and shared by every test.
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly SiloProcess _broker = new("streams", new Dictionary<string, string>());
    private readonly List<InProcessTestCluster> _clusters = [];
    private TimeSpan _cacheRetention = TimeSpan.FromSeconds(30);

    public Task InitializeAsync() => _broker.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var cluster in _clusters)
        {
            await cluster.DisposeAsync();
        }

        await _broker.DisposeAsync();
    }

    // 10,000 events over 100 streams, and the scale: 100,000 over 1,000 (about 10 s here).
    [Theory]
    [InlineData(100, 100)]
    [InlineData(1000, 100)]
    public async Task Events_over_many_streams_reach_implicit_subscribers_in_order_and_none_is_lost(int streams, int perStream)
    {
        var cluster = await StartClusterAsync();
        string[] keys = [.. Enumerable.Range(0, streams).Select(i => $"{_run}-{i}")];
        var clock = Stopwatch.StartNew();
        await ProduceAsync(cluster, keys, from: 0, count: perStream);
        output.WriteLine($"produced {streams * perStream} events in {clock.Elapsed.TotalSeconds:F1} s");

        await WaitForAllAsync(keys, perStream);
        output.WriteLine($"delivered in {clock.Elapsed.TotalSeconds:F1} s");
        int duplicates = AssertInOrderNoneLost(keys, perStream);
        output.WriteLine($"{duplicates} redelivered event(s)");

        // Tokens are (offset, index) and grow along each stream.
        foreach (var key in keys)
        {
            var tokens = StreamEventLog.Get(key).Select(e => e.Token).ToList();
            Assert.All(tokens, t => Assert.IsType<OrleansMQSequenceToken>(t));
            for (int i = 1; i < tokens.Count && duplicates == 0; i++)
            {
                Assert.True(tokens[i]!.Newer(tokens[i - 1]!), $"stream {key}: token {tokens[i]} is not after {tokens[i - 1]}");
            }
        }

        Assert.DoesNotContain(StreamEventLog.ErrorsSeen, e => e.StartsWith(_run, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_event_that_cannot_be_deserialized_goes_to_the_failure_handler_and_its_stream_goes_on()
    {
        var cluster = await StartClusterAsync();
        string key = $"{_run}-poisoned";
        await ProduceAsync(cluster, [key], from: 0, count: 10);

        // Garbage with the stream's headers and key, on the partition the provider maps the stream to.
        var streamId = StreamId.Create(Namespace, key);
        var options = ProviderOptions();
        var (topic, partition) = new OrleansMQQueueMapper(options, Provider).PartitionFor(streamId);
        await using (var producer = new KafkaProducer(new ClientOptions { BootstrapServers = _broker.Bootstrap }))
        {
            var garbage = await producer.ProduceAsync(topic, StreamKeys.RecordKey(streamId).ToArray(), [0xde, 0xad, 0xbe, 0xef, 0xff, 0x00, 0x13], StreamKeys.Headers(streamId, null), partition);
            output.WriteLine($"garbage at {garbage.Topic}-{garbage.Partition}@{garbage.Offset}");

            await ProduceAsync(cluster, [key], from: 10, count: 10);
            await WaitForAllAsync([key], 20);
            AssertInOrderNoneLost([key], 20);

            var failure = await PollAsync(() => RecordingFailureHandler.Failures.FirstOrDefault(f => f.Stream == streamId) is { Token: not null } f ? f : default((StreamId, StreamSequenceToken?)?), "the failure handler to hear of the garbage record");
            Assert.Equal(garbage.Offset, failure.Item2!.SequenceNumber);
        }
    }

    [Fact]
    public async Task A_restarted_orleans_cluster_resumes_from_the_checkpoints_and_loses_nothing()
    {
        string[] keys = [.. Enumerable.Range(0, 20).Select(i => $"{_run}-r{i}")];
        _cacheRetention = TimeSpan.FromSeconds(1); // checkpoints follow purges, which wait for the retention
        var first = await StartClusterAsync();
        await ProduceAsync(first, keys, from: 0, count: 50);
        await WaitForAllAsync(keys, 50);

        // Checkpoints are committed once the cache releases delivered batches: wait for them to cover
        // most of the first half, so the restart has something to resume from.
        var options = ProviderOptions();
        await using (var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = _broker.Bootstrap }))
        {
            await PollAsync(
                async () =>
                {
                    var committed = await admin.ListGroupOffsetsAsync(options.ConsumerGroup);
                    long sum = committed.Where(o => o.Offset > 0).Sum(o => o.Offset);
                    return sum >= keys.Length * 50 ? sum : (long?)null;
                },
                "checkpoints covering the first half");
        }

        // What each stream had when the checkpoints covered its first 50 events.
        var before = keys.ToDictionary(k => k, k => StreamEventLog.Get(k).Count);

        // Ten more events per stream, and the cluster stops while they are still being delivered.
        await ProduceAsync(first, keys, from: 50, count: 10);
        await first.StopAllSilosAsync();
        await first.DisposeAsync();
        _clusters.Remove(first);

        var second = await StartClusterAsync();
        await ProduceAsync(second, keys, from: 60, count: 40);
        await WaitForAllAsync(keys, 100);
        int duplicates = AssertInOrderNoneLost(keys, 100);
        output.WriteLine($"{duplicates} redelivered event(s) after the restart");

        // Resumed from the checkpoints, which covered the first 50 events of every stream: none of those
        // comes again (a restart from the start of the topic would repeat all of them). Later ones may.
        foreach (var key in keys)
        {
            var again = StreamEventLog.Get(key).Skip(before[key]).Select(e => e.Value).Where(v => v < 50).ToList();
            Assert.True(again.Count == 0, $"stream {key}: events {string.Join(',', again)} were delivered again after the restart although checkpointed");
        }
    }

    [Fact]
    public async Task A_restart_of_the_orleansmq_silo_is_survived_and_nothing_is_lost()
    {
        string[] keys = [.. Enumerable.Range(0, 20).Select(i => $"{_run}-b{i}")];
        var cluster = await StartClusterAsync();
        await ProduceAsync(cluster, keys, from: 0, count: 50);
        await WaitForAllAsync(keys, 50);

        // Same port and data directory: producers and the receivers' consumers reconnect.
        await _broker.StopAsync();
        await _broker.StartAsync();

        await ProduceAsync(cluster, keys, from: 50, count: 50);
        await WaitForAllAsync(keys, 100);
        int duplicates = AssertInOrderNoneLost(keys, 100);
        output.WriteLine($"{duplicates} redelivered event(s) across the broker restart");
    }

    [Fact]
    public async Task A_stream_maps_to_the_queue_of_the_partition_the_producers_murmur2_partitioner_picks_for_its_key()
    {
        var options = ProviderOptions();
        options.DefaultTopic = "omq-mapping";
        options.Partitions = 7;
        var mapper = new OrleansMQQueueMapper(options, Provider);

        // Topics in queue order: the default first, then the mapped ones; queue t * 7 + p is partition p of topic t.
        Assert.Equal(["omq-mapping", "orleans-streams-rewind"], mapper.Topics);
        Assert.Equal(14, mapper.GetAllQueues().Count());
        var rewindStream = StreamId.Create(RewindSubscriberGrain.Namespace, "x");
        var (rewindTopic, rewindPartition) = mapper.PartitionFor(rewindStream);
        Assert.Equal("orleans-streams-rewind", rewindTopic);
        Assert.Equal((uint)(7 + rewindPartition), mapper.GetQueueForStream(rewindStream).GetNumericId());

        await using (var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = _broker.Bootstrap }))
        {
            await admin.CreateTopicAsync(new NewTopic(options.DefaultTopic, options.Partitions));
        }

        await using var producer = new KafkaProducer(new ClientOptions { BootstrapServers = _broker.Bootstrap });
        var seen = new HashSet<int>();
        for (int i = 0; i < 50; i++)
        {
            var streamId = StreamId.Create(Namespace, $"{_run}-{i}");
            var delivered = await producer.ProduceAsync(options.DefaultTopic, StreamKeys.RecordKey(streamId).ToArray(), [1]); // no partition: the producer's own partitioner
            var (topic, partition) = mapper.PartitionFor(streamId);
            Assert.Equal((options.DefaultTopic, delivered.Partition), (topic, partition));
            Assert.Equal((uint)partition, mapper.GetQueueForStream(streamId).GetNumericId());
            Assert.Equal((topic, partition), mapper.PartitionOf(mapper.GetQueueForStream(streamId)));
            seen.Add(partition);
        }

        Assert.True(seen.Count > 1, "50 stream ids all mapped to one partition");
    }

    [Fact]
    public async Task A_subscription_resumed_from_a_saved_token_redelivers_from_that_event()
    {
        var cluster = await StartClusterAsync();
        string key = $"{_run}-rewind";
        var subscriber = cluster.Client.GetGrain<IRewindSubscriberGrain>(key);
        await subscriber.SubscribeAsync(null); // log "key#1"
        await ProduceAsync(cluster, [key], from: 0, count: 30, RewindSubscriberGrain.Namespace);
        await WaitForAllAsync([key + "#1"], 30);
        var first = StreamEventLog.Get(key + "#1");
        Assert.Equal(Enumerable.Range(0, 30), first.Select(e => e.Value));

        // A second subscription from the token of event 10: events 10..29 again, in order.
        var token = first[10].Token;
        Assert.NotNull(token);
        await subscriber.SubscribeAsync(token); // log "key#2"
        await WaitForAllAsync([key + "#2"], 20);
        Assert.Equal(Enumerable.Range(10, 20), StreamEventLog.Get(key + "#2").Select(e => e.Value));
        Assert.Equal(token, StreamEventLog.Get(key + "#2")[0].Token);

        // The namespace has a topic of its own: the events are there, not in the default topic.
        var streamId = StreamId.Create(RewindSubscriberGrain.Namespace, key);
        var (topic, partition) = new OrleansMQQueueMapper(ProviderOptions(), Provider).PartitionFor(streamId);
        Assert.Equal("orleans-streams-rewind", topic);
        await using var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = _broker.Bootstrap });
        var ends = await admin.ListOffsetsAsync(topic, OffsetSpec.Latest);
        Assert.Equal(30, ends.Single(o => o.Partition == partition).Offset);
    }

    private OrleansMQStreamOptions ProviderOptions()
    {
        var options = new OrleansMQStreamOptions();
        Configure(options);
        return options;
    }

    private void Configure(OrleansMQStreamOptions options)
    {
        options.BootstrapServers = _broker.Bootstrap;
        options.DefaultTopic = "orleans-streams";
        options.NamespaceTopics[RewindSubscriberGrain.Namespace] = "orleans-streams-rewind"; // the rewind test goes through a second topic (queues 4..7)
        options.Partitions = Partitions;
        options.ConsumerGroup = "orleans-streams-test";
        options.StartPosition = StreamStartPosition.Earliest;
        options.Linger = TimeSpan.FromMilliseconds(2);
        options.CacheRetention = _cacheRetention;
    }

    private async Task<InProcessTestCluster> StartClusterAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.AddOrleansMQStreams(Provider, Configure);
            silo.Services.AddKeyedSingleton<IStreamFailureHandler>(Provider, (_, _) => new RecordingFailureHandler());
        });
        builder.ConfigureClient(client => client.AddOrleansMQStreams(Provider, Configure));
        var cluster = builder.Build();
        _clusters.Add(cluster);
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Events from..from+count-1 on every stream: streams in parallel, each stream's events one after another (acknowledged in turn).</summary>
    private static async Task ProduceAsync(InProcessTestCluster cluster, string[] keys, int from, int count, string streamNamespace = Namespace)
    {
        var provider = cluster.Client.GetStreamProvider(Provider);
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 100 }, async (key, _) =>
        {
            var stream = provider.GetStream<int>(StreamId.Create(streamNamespace, key));
            for (int i = from; i < from + count; i++)
            {
                await stream.OnNextAsync(i);
            }
        });
    }

    private async Task WaitForAllAsync(string[] keys, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var missing = keys.Select(k => (Key: k, Got: StreamEventLog.Get(k).Select(e => e.Value).Distinct().Count())).Where(x => x.Got < count).ToList();
            if (missing.Count == 0)
            {
                return;
            }

            if (deadline.Elapsed > DeliveryTimeout)
            {
                int total = keys.Sum(k => StreamEventLog.Get(k).Select(e => e.Value).Distinct().Count());
                Assert.Fail($"after {DeliveryTimeout.TotalSeconds} s {missing.Count} of {keys.Length} streams miss events ({total} of {keys.Length * count} distinct delivered); first: {missing[0].Key} has {missing[0].Got}\n{_broker.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Every stream got 0..count-1, first deliveries in order (at-least-once: a redelivery after a queue
    /// moved or restarted may repeat events, never skip or reorder new ones). Returns the duplicates.
    /// </summary>
    private static int AssertInOrderNoneLost(string[] keys, int count)
    {
        int duplicates = 0;
        foreach (var key in keys)
        {
            var values = StreamEventLog.Get(key).Select(e => e.Value).ToList();
            var seen = new HashSet<int>();
            var firsts = values.Where(seen.Add).ToList();
            Assert.Equal(Enumerable.Range(0, count), firsts);
            duplicates += values.Count - firsts.Count;
        }

        return duplicates;
    }

    private static Task<T> PollAsync<T>(Func<T?> probe, string what)
        where T : struct => PollAsync(() => Task.FromResult(probe()), what);

    private static async Task<T> PollAsync<T>(Func<Task<T?>> probe, string what)
        where T : struct
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(deadline.Elapsed < DeliveryTimeout, $"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }
}
