using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// Three silo processes (node ids 0, 1, 2) over Azurite's table service: a partition on two of them
/// is moved, while records are produced, to the surviving one and the third
/// (AlterPartitionReassignments). The move shows in ListPartitionReassignments until the new
/// replica is in sync; then Metadata shows the target replicas, the new leader serves every
/// acknowledged record, and the dropped silo no longer lists the partition. DeleteRecords on the
/// leader moves the followers' log start too (seen when a follower is made leader).
/// </summary>
#pragma warning disable CA1001 // the processes are disposed in DisposeAsync (IAsyncLifetime)
public sealed class ReplicationAdminClusterTests : IAsyncLifetime
{
    private const string Topic = "moving";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _log;
    private long _producerId = -1;
    private short _producerEpoch;
    private int _sequence;
    private SiloCluster _cluster = null!;
#pragma warning restore CA1001

    public ReplicationAdminClusterTests(ITestOutputHelper log) => _log = log;

    private List<SiloProcess> _silos => _cluster.Silos;

    public async Task InitializeAsync() => _cluster = await SiloCluster.StartAsync("move", null);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private string Diagnostics() => _cluster.Diagnostics();

    private ClientOptions Client => new() { BootstrapServers = string.Join(',', _silos.Select(s => s.Bootstrap)) };

    private static Task<MetadataResponse> MetadataAsync(SiloProcess silo) => SiloCluster.MetadataAsync(silo, Topic);

    private static MetadataResponse.Partition Partition0(MetadataResponse m) => m.Topics.Single(t => t.Name == Topic).Partitions.Single(p => p.PartitionIndex == 0);

    /// <summary>Polls Metadata on every silo until <paramref name="done"/> holds on all of them.</summary>
    private async Task<MetadataResponse> WaitMetadataAsync(Func<MetadataResponse, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            MetadataResponse? seen = null;
            bool all = true;
            foreach (var silo in _silos)
            {
                var m = await MetadataAsync(silo);
                last = $"{silo.Name}: brokers {string.Join(',', m.Brokers.Select(b => b.NodeId))}; " + string.Join("; ", m.Topics.SelectMany(t => t.Partitions).Select(p => $"p{p.PartitionIndex} leader {p.LeaderId} epoch {p.LeaderEpoch} replicas [{string.Join(',', p.ReplicaNodes)}] isr [{string.Join(',', p.IsrNodes)}] err {p.ErrorCode}"));
                all &= done(m);
                seen ??= m;
            }

            if (all && seen is not null)
            {
                return seen;
            }

            Assert.True(clock.Elapsed < Wait, $"{what}: not reached in {Wait.TotalSeconds} s; last seen {last}{Diagnostics()}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_replica_moves_to_another_silo_while_producing_and_DeleteRecords_reaches_the_followers()
    {
        await WaitMetadataAsync(m => m.Brokers.Count == 3, "three live brokers");
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic(Topic, 1, 2));
        var placed = Partition0(await WaitMetadataAsync(m => m.Topics.Count == 1 && Partition0(m) is { ErrorCode: ErrorCode.None, IsrNodes.Count: 2 }, "partition 0 on two replicas, in sync"));
        int from = placed.LeaderId;
        int stays = placed.ReplicaNodes.Single(r => r != from);
        int to = Enumerable.Range(0, 3).Single(r => !placed.ReplicaNodes.Contains(r));
        _log.WriteLine($"replicas [{string.Join(',', placed.ReplicaNodes)}], leader {from}: moving to [{stays},{to}]");

        // Enough data that the new replica takes a moment to copy it.
        var acked = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            acked.AddRange(await ProduceToLeaderAsync($"before-{i}", 50));
        }

        using var stop = new CancellationTokenSource();
        var during = Task.Run(async () =>
        {
            var values = new List<string>();
            for (int i = 0; !stop.IsCancellationRequested && i < 400; i++)
            {
                values.AddRange(await ProduceToLeaderAsync($"during-{i}", 5));
            }

            return values;
        });

        await admin.AlterPartitionReassignmentsAsync(new Dictionary<TopicPartition, IReadOnlyList<int>?> { [new TopicPartition(Topic, 0)] = [stays, to] });
        var moving = Assert.Single(await admin.ListPartitionReassignmentsAsync());
        Assert.Equal([to], moving.Adding);
        Assert.Equal([from], moving.Removing);
        Assert.Equal([stays, to, from], moving.Replicas);

        var done = Partition0(await WaitMetadataAsync(
            m => Partition0(m) is { ErrorCode: ErrorCode.None } p && p.ReplicaNodes.SequenceEqual([stays, to]) && p.IsrNodes.Order().SequenceEqual(new[] { stays, to }.Order()),
            "the move completed"));
        Assert.Equal(stays, done.LeaderId);
        Assert.True(done.LeaderEpoch > placed.LeaderEpoch);
        Assert.Empty(await admin.ListPartitionReassignmentsAsync());
        await stop.CancelAsync();
        acked.AddRange(await during);

        // The new leader serves every acknowledged record, once, in order.
        var read = await ReadAllAsync(_silos[stays], acked.Count);
        Assert.Equal(acked, read);

        // The dropped silo stops holding the partition as a replica (its data stays on disk).
        var dirs = await admin.DescribeLogDirsAsync([from]);
        Assert.DoesNotContain(dirs.SelectMany(d => d.Partitions), p => p.Topic == Topic);

        // DeleteRecords on the leader; an acks=all record after it means the follower fetched past it.
        long cut = acked.Count / 2;
        var deleted = Assert.Single(await admin.DeleteRecordsAsync(new Dictionary<TopicPartition, long> { [new TopicPartition(Topic, 0)] = cut }));
        Assert.Equal(cut, deleted.LowWatermark);
        await ProduceToLeaderAsync("after-delete", 1);

        // Make the follower the leader: its log start is the one the leader set.
        await admin.AlterPartitionReassignmentsAsync(new Dictionary<TopicPartition, IReadOnlyList<int>?> { [new TopicPartition(Topic, 0)] = [to, stays] });
        await WaitMetadataAsync(m => Partition0(m).ReplicaNodes.SequenceEqual([to, stays]), "the preferred replica is the follower");
        var elected = Assert.Single(await admin.ElectLeadersAsync(ElectionType.Preferred, [new TopicPartition(Topic, 0)]));
        Assert.Equal(ErrorCode.None, elected.Error);
        await WaitMetadataAsync(m => Partition0(m) is { ErrorCode: ErrorCode.None } p && p.LeaderId == to, "the follower leads");
        using var client = await _silos[to].ConnectAsync();
        Assert.Equal(cut, await BrokerKit.EarliestOffsetAsync(client, Topic));
    }

    /// <summary>Produces <paramref name="count"/> records in one acks=all batch to the current leader, retrying through leader changes; returns their values.</summary>
    /// <summary>
    /// An idempotent producer's batch, sent to whichever silo leads and retried there until
    /// acknowledged: a batch the old leader replicated but could not acknowledge (leadership moved
    /// while it waited for acks=all) is recognised by the new leader from the replicated producer
    /// state and not appended twice.
    /// </summary>
    private async Task<List<string>> ProduceToLeaderAsync(string tag, int count)
    {
        if (_producerId < 0)
        {
            using var init = await _silos[0].ConnectAsync();
            var id = await init.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, 2);
            Assert.Equal(ErrorCode.None, id.ErrorCode);
            (_producerId, _producerEpoch) = (id.ProducerId, id.ProducerEpoch);
        }

        var builder = new RecordBatchBuilder { ProducerId = _producerId, ProducerEpoch = _producerEpoch, BaseSequence = _sequence };
        var values = Enumerable.Range(0, count).Select(i => $"{tag}-{i}").ToList();
        foreach (string v in values)
        {
            builder.Add(System.Text.Encoding.UTF8.GetBytes(v.PadRight(200, '.')), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null);
        }

        var batch = new byte[builder.GetSize()];
        builder.Build(batch);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int leader = Partition0(await MetadataAsync(_silos[0])).LeaderId;
            if (leader >= 0)
            {
                using var client = await _silos[leader].ConnectAsync();
                var response = await client.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
                {
                    Acks = -1,
                    TimeoutMs = 10_000,
                    Topics = [new ProduceRequest.Topic { Name = Topic, Partitions = [new ProduceRequest.Partition { Index = 0, Records = batch }] }],
                }, 9);
                var p = response.Topics[0].Partitions[0];
                if (p.ErrorCode == ErrorCode.None)
                {
                    _sequence += count;
                    return values;
                }

                Assert.True(p.ErrorCode is ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable or ErrorCode.NotEnoughReplicas or ErrorCode.RequestTimedOut, $"produce {tag}: {p.ErrorCode}{Diagnostics()}");
            }

            Assert.True(clock.Elapsed < Wait, $"produce {tag}: no leader took it in {Wait.TotalSeconds} s{Diagnostics()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Every record value of partition 0 from offset 0, read from <paramref name="silo"/> (trailing padding removed).</summary>
    private static async Task<List<string>> ReadAllAsync(SiloProcess silo, int count)
    {
        using var client = await silo.ConnectAsync();
        var values = new List<string>();
        long offset = 0;
        var clock = Stopwatch.StartNew();
        while (values.Count < count)
        {
            Assert.True(clock.Elapsed < Wait, $"only {values.Count} of {count} records read");
            var p = await BrokerKit.FetchAsync(client, Topic, 0, offset, maxWaitMs: 500, minBytes: 1);
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            foreach (var batch in BrokerKit.SplitBatches(p.Records))
            {
                Assert.Equal(BatchError.None, RecordBatch.TryReadInfo(batch, out var info));
                values.AddRange(BrokerKit.ReadRecords(batch).Select(r => r.Value.TrimEnd('.')));
                offset = info.LastOffset + 1;
            }
        }

        return values;
    }
}
