using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// Three silo processes (node ids 0, 1, 2) in one Orleans cluster over Azurite's table service, a
/// topic with replication factor 3 and min.insync.replicas 2, and real clients: a
/// confluent-kafka-python idempotent acks=all producer runs while the leader of a partition is
/// SIGKILLed and restarted three times; every acknowledged message is read back once, in order.
/// </summary>
#pragma warning disable CA1001 // the processes are disposed in DisposeAsync (IAsyncLifetime)
public sealed class ReplicationTests : IAsyncLifetime
{
    private const string Topic = "replicated";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _log;
    private SiloCluster? _cluster;
#pragma warning restore CA1001

    public ReplicationTests(ITestOutputHelper log) => _log = log;

    private List<SiloProcess> _silos => _cluster!.Silos;

    private string _root => _cluster!.Root;

    private NetworkNamespaces? _network => _cluster!.Network;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Azurite and three silos (min.insync.replicas=2), on loopback or (<paramref name="namespaces"/>) each in its own network namespace.</summary>
    /// <remarks>
    /// In namespaces the lag limit is short, so an isolated leader that still reaches the grain
    /// storage (its topic grain active on its side) shrinks the ISR to itself before the majority
    /// declares it dead — its followers must stay electable (eligible leader replicas, KIP-966).
    /// </remarks>
    private async Task StartAsync(bool namespaces = false)
    {
        var settings = new Dictionary<string, string> { ["OrleansMQ__Broker__MinInsyncReplicas"] = "2" };
        if (namespaces)
        {
            settings["OrleansMQ__Broker__ReplicaLagTimeMaxMs"] = "2000";
        }

        _cluster = await SiloCluster.StartAsync("repl", settings, namespaces: namespaces);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    private string Diagnostics() => _cluster!.Diagnostics();

    private SiloProcess Live => _silos.First(s => s.IsRunning);

    private static Task<MetadataResponse> MetadataAsync(SiloProcess silo) => SiloCluster.MetadataAsync(silo, Topic);

    /// <summary>Polls Metadata on every running silo until <paramref name="done"/> holds on all of them.</summary>
    private async Task<MetadataResponse> WaitMetadataAsync(Func<MetadataResponse, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            MetadataResponse? seen = null;
            bool all = true;
            foreach (var silo in _silos.Where(s => s.IsRunning))
            {
                try
                {
                    var m = await MetadataAsync(silo);
                    last = $"{silo.Name}: brokers {string.Join(',', m.Brokers.Select(b => b.NodeId))}; " + string.Join("; ", m.Topics.SelectMany(t => t.Partitions).Select(p => $"p{p.PartitionIndex} leader {p.LeaderId} epoch {p.LeaderEpoch} isr [{string.Join(',', p.IsrNodes)}] err {p.ErrorCode}"));
                    all &= done(m);
                    seen ??= m;
                }
                catch (IOException ex)
                {
                    last = $"{silo.Name}: {ex.Message}";
                    all = false;
                }
            }

            if (all && seen is not null)
            {
                return seen;
            }

            Assert.True(clock.Elapsed < Wait, $"{what}: not reached in {Wait.TotalSeconds} s; last seen {last}{Diagnostics()}");
            await Task.Delay(200);
        }
    }

    private static MetadataResponse.Partition Partition(MetadataResponse m, int index) => m.Topics.Single(t => t.Name == Topic).Partitions.Single(p => p.PartitionIndex == index);

    private static bool FullyReplicated(MetadataResponse m) =>
        m.Brokers.Count == 3 && m.Topics.Count == 1 && m.Topics[0].ErrorCode == ErrorCode.None && m.Topics[0].Partitions.Count == 3
        && m.Topics[0].Partitions.All(p => p.ErrorCode == ErrorCode.None && p.ReplicaNodes.Count == 3 && p.IsrNodes.Count == 3 && p.OfflineReplicas.Count == 0);

    private async Task CreateTopicAsync()
    {
        // Placement takes the brokers the creating silo sees live: wait until all three registered.
        await WaitMetadataAsync(m => m.Brokers.Count == 3, "three live brokers");
        await using var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = _silos[0].Bootstrap });
        await admin.CreateTopicAsync(new NewTopic(Topic, 3, 3));
    }

    [Fact]
    public async Task An_idempotent_acks_all_producer_loses_nothing_and_duplicates_nothing_through_three_leader_kills()
    {
        await StartAsync();
        await CreateTopicAsync();
        var placed = await WaitMetadataAsync(FullyReplicated, "three partitions on three replicas, all in sync");
        // Leaders spread: each silo leads one of the three partitions.
        Assert.Equal([0, 1, 2], placed.Topics[0].Partitions.Select(p => p.LeaderId).Order());

        string stop = Path.Combine(_root, "stop-producer");
        string script = Path.Combine(PythonDirectory(), "idempotent_producer.py");
        var bootstrap = string.Join(',', _silos.Select(s => s.Bootstrap));
        await using var producer = ExternalTool.StartCollecting("/usr/bin/python3", [script, bootstrap, Topic, "3", stop, "400"]);
        await producer.WaitUntilAsync(l => l.Count(x => x.StartsWith("ACK", StringComparison.Ordinal)) >= 200, Wait, "the first 200 acknowledgements");

        // CI runs three cycles; the long variant (infra/soak-replication.sh) sets OMQ_REPLICATION_CYCLES and
        // also stops leaders gracefully (SIGTERM) on random cycles.
        int cycles = int.TryParse(Environment.GetEnvironmentVariable("OMQ_REPLICATION_CYCLES"), CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 3;
        for (int cycle = 0; cycle < cycles; cycle++)
        {
            // SIGKILL the leader of partition 0 (a different silo each time, as leadership moves).
            var before = Partition(await MetadataAsync(Live), 0);
            var victim = _silos[before.LeaderId];
            int acked = producer.Lines.Count(x => x.StartsWith("ACK", StringComparison.Ordinal));
            var clock = Stopwatch.StartNew();
            if (cycles > 3 && Random.Shared.Next(3) == 0)
            {
                await victim.StopAsync();
            }
            else
            {
                victim.Kill();
            }

            await WaitMetadataAsync(m => Partition(m, 0) is { ErrorCode: ErrorCode.None } p && p.LeaderId != before.LeaderId && p.LeaderEpoch > before.LeaderEpoch, $"cycle {cycle}: a new leader for partition 0");
            var elected = clock.Elapsed;
            await producer.WaitUntilAsync(l => l.Count(x => x.StartsWith("ACK", StringComparison.Ordinal)) >= acked + 300, Wait, $"cycle {cycle}: acknowledgements after the failover");
            _log.WriteLine($"cycle {cycle}: killed broker {before.LeaderId} (leader epoch {before.LeaderEpoch}); new leader after {elected.TotalSeconds:F1} s; 300 more acks after {clock.Elapsed.TotalSeconds:F1} s");

            // The killed silo restarts on its data, catches up and rejoins every ISR.
            await victim.StartAsync();
            await WaitMetadataAsync(FullyReplicated, $"cycle {cycle}: broker {before.LeaderId} back in every ISR");
        }

        File.WriteAllText(stop, "");
        await producer.WaitUntilAsync(l => l.Exists(x => x.StartsWith("DONE", StringComparison.Ordinal)), TimeSpan.FromSeconds(180), "the producer's final flush");
        var acks = producer.Lines.Where(x => x.StartsWith("ACK ", StringComparison.Ordinal)).Select(x => x.Split(' ')).Select(f => (Partition: int.Parse(f[1], CultureInfo.InvariantCulture), Offset: long.Parse(f[2], CultureInfo.InvariantCulture), Value: f[3])).ToList();
        Assert.True(acks.Count > 1000, $"only {acks.Count} acknowledged");

        // Read everything back from the leaders and check each partition: every acknowledged value
        // present, once, at the offset it was acknowledged with, in the order it was produced.
        var read = await ReadAllAsync(acks.GroupBy(a => a.Partition).ToDictionary(g => g.Key, g => g.Max(a => a.Offset) + 1));
        foreach (var partition in acks.GroupBy(a => a.Partition))
        {
            var values = read[partition.Key];
            Assert.Equal(values.Count, values.Select(v => v.Value).Distinct().Count());
            var byValue = values.ToDictionary(v => v.Value, v => v.Offset);
            foreach (var ack in partition)
            {
                Assert.True(byValue.TryGetValue(ack.Value, out long offset), $"acknowledged {ack.Value} at {ack.Partition}/{ack.Offset} is missing{Diagnostics()}");
                Assert.Equal(ack.Offset, offset);
            }

            var sequences = values.Select(v => int.Parse(v.Value.Split(':')[1], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(sequences.Order(), sequences);
        }
    }

    [Fact]
    public async Task With_two_of_three_silos_down_acks_all_is_refused_and_committed_records_still_read()
    {
        await StartAsync();
        await CreateTopicAsync();
        await WaitMetadataAsync(FullyReplicated, "three partitions on three replicas, all in sync");
        var meta = await MetadataAsync(_silos[0]);
        int survivor = Partition(meta, 0).LeaderId;

        // Records committed on all three replicas first.
        using (var client = await _silos[survivor].ConnectAsync())
        {
            var ok = await ProduceAsync(client, acks: -1, "before");
            Assert.Equal(ErrorCode.None, ok.ErrorCode);
        }

        // A follower refuses produce and consumer fetches of the partition: clients go to the leader.
        using (var follower = await _silos[(survivor + 1) % 3].ConnectAsync())
        {
            var refused = await ProduceAsync(follower, acks: 1, "at-a-follower");
            Assert.Equal(ErrorCode.NotLeaderOrFollower, refused.ErrorCode);
            var fetch = await BrokerKit.FetchAsync(follower, Topic, 0, 0);
            Assert.Equal(ErrorCode.NotLeaderOrFollower, fetch.ErrorCode);
        }

        // One at a time, as Orleans needs: a silo is declared dead by a majority of the active
        // silos' votes, so two killed together leave the survivor without the votes to declare
        // either (the minority side cannot decide, by design). Killed one after the other, two
        // silos vote out the first and the survivor alone the second.
        foreach (var s in _silos.Where((_, i) => i != survivor))
        {
            int id = _silos.IndexOf(s);
            s.Kill();
            await WaitMetadataAsync(m => m.Brokers.All(b => b.NodeId != id), $"broker {id} declared dead");
        }

        // The survivor leads partition 0 with an ISR of one: acks=all is refused before anything is appended.
        await WaitMetadataAsync(m => Partition(m, 0) is { LeaderId: var l, IsrNodes.Count: 1 } && l == survivor, "the ISR of partition 0 shrunk to the survivor");
        using (var client = await _silos[survivor].ConnectAsync())
        {
            var refused = await ProduceAsync(client, acks: -1, "refused");
            Assert.Equal(ErrorCode.NotEnoughReplicas, refused.ErrorCode);
            Assert.Equal(-1, refused.BaseOffset);
        }

        var read = await ReadAllAsync(new Dictionary<int, long> { [0] = 1 });
        Assert.Equal(["before"], read[0].Select(v => v.Value));
    }

    [Fact]
    public async Task A_leader_cut_off_by_a_network_partition_acknowledges_nothing_the_majority_elects_and_after_healing_it_truncates()
    {
        await StartAsync(namespaces: true);
        await CreateTopicAsync();
        await WaitMetadataAsync(FullyReplicated, "three partitions on three replicas, all in sync");
        var before = Partition(await MetadataAsync(_silos[0]), 0);
        var leader = _silos[before.LeaderId];
        using (var client = await leader.ConnectAsync())
        {
            Assert.Equal(ErrorCode.None, (await ProduceAsync(client, acks: -1, "committed-1")).ErrorCode);
        }

        // Cut the leader off from the other silos (the test still reaches it).
        await _network!.IsolateAsync(before.LeaderId);
        var majority = _silos.Where((_, i) => i != before.LeaderId).ToList();

        // Written to the isolated leader: its followers cannot fetch, so acks=all is never acknowledged.
        var isolated = new List<string>();
        using (var client = await leader.ConnectAsync())
        {
            for (int i = 0; i < 3; i++)
            {
                string value = "isolated-" + i;
                var answer = await ProduceAsync(client, acks: -1, value, timeoutMs: 3000);
                Assert.NotEqual(ErrorCode.None, answer.ErrorCode);
                isolated.Add(value);
            }
        }

        // The majority declares the leader dead and elects one of its own.
        var clock = Stopwatch.StartNew();
        MetadataResponse.Partition elected = null!;
        while (true)
        {
            var m = await MetadataAsync(majority[0]);
            elected = Partition(m, 0);
            if (elected.ErrorCode == ErrorCode.None && elected.LeaderId != before.LeaderId && elected.LeaderEpoch > before.LeaderEpoch)
            {
                break;
            }

            Assert.True(clock.Elapsed < Wait, $"the majority elected no new leader; last seen leader {elected.LeaderId} epoch {elected.LeaderEpoch}{Diagnostics()}");
            await Task.Delay(200);
        }

        _log.WriteLine($"isolated broker {before.LeaderId}; broker {elected.LeaderId} leads at epoch {elected.LeaderEpoch}, ISR [{string.Join(',', elected.IsrNodes)}] after {clock.Elapsed.TotalSeconds:F1} s");

        // Elected from the eligible replicas (the isolated leader had shrunk the ISR to itself) the
        // new leader starts alone in the ISR: acks=all waits for the other majority silo to rejoin.
        // The other majority silo may also have learned of the election before the leader itself:
        // like any client, retry the retriable answers at the leader Metadata names.
        ProduceResponse.Partition committed;
        while (true)
        {
            int leaderId = Partition(await MetadataAsync(majority[0]), 0).LeaderId;
            using (var client = await _silos[leaderId is >= 0 and < 3 ? leaderId : elected.LeaderId].ConnectAsync())
            {
                committed = await ProduceAsync(client, acks: -1, "committed-2");
            }

            if (committed.ErrorCode is not (ErrorCode.NotEnoughReplicas or ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable) || clock.Elapsed > Wait)
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.Equal(ErrorCode.None, committed.ErrorCode);

        // Heal. Orleans declared the old leader's silo dead, so it stops itself (or is stopped
        // here); restarted on its data it follows the new leader, truncating its divergent tail.
        await _network.HealAsync();
        if (leader.IsRunning)
        {
            leader.Kill();
        }

        await leader.StartAsync();
        await WaitMetadataAsync(FullyReplicated, "the old leader back in every ISR");
        Assert.Contains("truncating divergent tail", leader.Output, StringComparison.Ordinal);

        // Up to the end (kcat -e): the acknowledged records, none of the isolated leader's.
        var read = await ReadAllAsync(new Dictionary<int, long> { [0] = 1000 });
        Assert.Equal(["committed-1", "committed-2"], read[0].Select(v => v.Value));
    }

    private static async Task<ProduceResponse.Partition> ProduceAsync(KafkaTestClient client, short acks, string value, int timeoutMs = 10_000)
    {
        var builder = new RecordBatchBuilder();
        builder.Add(System.Text.Encoding.UTF8.GetBytes(value), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null);
        var batch = new byte[builder.GetSize()];
        builder.Build(batch);
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = acks,
            TimeoutMs = timeoutMs,
            Topics = [new ProduceRequest.Topic { Name = Topic, Partitions = [new ProduceRequest.Partition { Index = 0, Records = batch }] }],
        }, 9);
        return response.Topics[0].Partitions[0];
    }

    /// <summary>kcat reads each partition from its leader up to <paramref name="ends"/>; returns (offset, value) per partition.</summary>
    private async Task<Dictionary<int, List<(long Offset, string Value)>>> ReadAllAsync(Dictionary<int, long> ends)
    {
        var result = new Dictionary<int, List<(long Offset, string Value)>>();
        foreach (var (partition, end) in ends)
        {
            var r = await ExternalTool.RunAsync(ExternalTool.Require("kcat"), ["-C", "-b", string.Join(',', _silos.Where(s => s.IsRunning).Select(s => s.Bootstrap)), "-t", Topic, "-p", partition.ToString(CultureInfo.InvariantCulture), "-o", "beginning", "-c", end.ToString(CultureInfo.InvariantCulture), "-e", "-f", "%o %s\n"], timeout: TimeSpan.FromSeconds(120));
            Assert.True(r.ExitCode == 0, $"kcat -C partition {partition}: {r.Stderr}{Diagnostics()}");
            result[partition] = [.. r.Lines.Select(l => l.Split(' ', 2)).Select(f => (long.Parse(f[0], CultureInfo.InvariantCulture), f[1]))];
        }

        return result;
    }

    private static string PythonDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Tests", "interop", "python");
            if (File.Exists(Path.Combine(candidate, "idempotent_producer.py")))
            {
                return candidate;
            }
        }

        Assert.Fail("Tests/interop/python not found");
        return "";
    }
}
