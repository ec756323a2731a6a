using System.Diagnostics;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// Two silo processes in cluster mode — over a real Azurite table service, and over a real
/// redis-server (membership and grain state) — one topic, one group, whichever silo a client
/// talks to; a change made through one silo reaches the other's cache by push; a silo leaving
/// hands its grains to the other.
/// </summary>
#pragma warning disable CA1001 // the processes are disposed in DisposeAsync (IAsyncLifetime)
public sealed class ClusterTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _log;
    private readonly string _clusterId = "t" + Guid.NewGuid().ToString("N")[..10];
    private AzuriteTables? _azurite;
    private RedisServer? _redis;
    private SiloProcess _a = null!;
    private SiloProcess _b = null!;
#pragma warning restore CA1001

    public ClusterTests(ITestOutputHelper log) => _log = log;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Starts the membership store of <paramref name="mode"/>, then silo A, then B (A first, so the directory and the topic's grain most likely live there and A's stop moves them).</summary>
    private async Task StartClusterAsync(string mode)
    {
        Dictionary<string, string> store;
        if (mode == "AzureTable")
        {
            _azurite = new AzuriteTables();
            await _azurite.InitializeAsync();
            store = new() { ["OrleansMQ__Cluster__ConnectionString"] = _azurite.ConnectionString };
        }
        else
        {
            _redis = new RedisServer();
            await _redis.StartAsync();
            store = new() { ["OrleansMQ__Cluster__RedisConnectionString"] = _redis.ConnectionString };
        }

        _a = new SiloProcess("silo-a", ClusterSettings(mode, store, nodeId: 1));
        _b = new SiloProcess("silo-b", ClusterSettings(mode, store, nodeId: 2));
        await _a.StartAsync();
        await _b.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    private Dictionary<string, string> ClusterSettings(string mode, Dictionary<string, string> store, int nodeId) => new(store)
    {
        ["OrleansMQ__Cluster__Mode"] = mode,
        ["OrleansMQ__Cluster__ClusterId"] = _clusterId,
        ["OrleansMQ__Cluster__ServiceId"] = _clusterId,
        ["OrleansMQ__Cluster__AdvertisedAddress"] = "127.0.0.1",
        ["OrleansMQ__Broker__NodeId"] = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["OrleansMQ__Groups__InitialRebalanceDelayMs"] = "0",
    };

    private string Diagnostics() => $"\n--- silo A ---\n{_a.Output}\n--- silo B ---\n{_b.Output}";

    private static KafkaAdminClient Admin(SiloProcess silo) => new(new ClientOptions { BootstrapServers = silo.Bootstrap });

    private static ExternalTool.RunningTool Member(SiloProcess silo, string group, string topic, string clientId) => ExternalTool.StartCollecting(
        ExternalTool.Require("kcat"),
        [
            "-b", silo.Bootstrap, "-G", group, "-u", "-f", "%p %o %s\n",
            "-X", $"client.id={clientId}",
            "-X", "auto.offset.reset=earliest",
            "-X", "session.timeout.ms=6000",
            "-X", "heartbeat.interval.ms=500",
            topic,
        ]);

    private static async Task<GroupDescription> WaitGroupAsync(KafkaAdminClient admin, string group, Func<GroupDescription, bool> done, string what, Func<string> diagnostics)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            try
            {
                var d = await admin.DescribeGroupAsync(group);
                last = $"{d.State}: " + string.Join("; ", d.Members.Select(m => $"{m.ClientId}=[{string.Join(',', m.Assignment.Select(a => a.Partition))}]"));
                if (done(d))
                {
                    return d;
                }
            }
            catch (KafkaException ex)
            {
                last = ex.Message;
            }

            Assert.True(clock.Elapsed < Wait, $"{what}: not reached in {Wait.TotalSeconds} s; last seen {last}{diagnostics()}");
            await Task.Delay(200);
        }
    }

    [Theory]
    [InlineData("AzureTable")]
    [InlineData("Redis")]
    public async Task A_topic_and_a_group_are_one_across_two_silos_and_survive_a_silo_leaving(string mode)
    {
        await StartClusterAsync(mode);

        // A topic created through A is the same topic through B: configs, partitions, identity.
        await using (var adminA = Admin(_a))
        {
            await adminA.CreateTopicAsync(new NewTopic("orders", 4) { Configs = new Dictionary<string, string?> { ["retention.ms"] = "3600000" } });
        }

        await using var adminB = Admin(_b);
        var described = await adminB.DescribeTopicAsync("orders");
        Assert.Equal(4, described.Partitions.Count);
        Assert.Equal("3600000", described.Configs.Single(c => c.Name == "retention.ms").Value);
        var again = await Assert.ThrowsAsync<KafkaException>(() => adminB.CreateTopicAsync(new NewTopic("orders", 2)));
        Assert.Equal(OrleansMQ.Protocol.Kafka.ErrorCode.TopicAlreadyExists, again.ErrorCode);

        // B has the topic cached now; a change through A reaches B's cache by push from the topic
        // directory, well before B's periodic renewal (30 s) would have fetched it.
        await using (var adminA = Admin(_a))
        {
            await adminA.AddPartitionsAsync("orders", 6);
        }

        var pushed = Stopwatch.StartNew();
        while ((await adminB.DescribeTopicAsync("orders")).Partitions.Count != 6)
        {
            Assert.True(pushed.Elapsed < TimeSpan.FromSeconds(10), $"B did not learn of the new partitions within 10 s{Diagnostics()}");
            await Task.Delay(50);
        }

        _log.WriteLine($"B saw the partitions added through A after {pushed.ElapsedMilliseconds} ms");

        // Members connected to different silos join one group and split its partitions.
        await using var onA = Member(_a, "g", "orders", "member-a");
        await using var onB = Member(_b, "g", "orders", "member-b");
        var balanced = await WaitGroupAsync(adminB, "g", d => d.State == "Stable" && d.Members.Count == 2 && d.Members.All(m => m.Assignment.Count == 3), "two members, three partitions each", Diagnostics);
        Assert.Equal(Enumerable.Range(0, 6), balanced.Members.SelectMany(m => m.Assignment).Select(a => a.Partition).Order());
        await using (var adminA = Admin(_a))
        {
            // The same group seen through A: one group grain in the cluster.
            var throughA = await adminA.DescribeGroupAsync("g");
            Assert.Equal(balanced.Members.Select(m => m.MemberId).Order(), throughA.Members.Select(m => m.MemberId).Order());
        }

        // A leaves: its activations (topic, directory, maybe the group) move to B, whose member rejoins and owns everything.
        await onA.KillAsync();
        await _a.StopAsync();
        await WaitGroupAsync(adminB, "g", d => d.State == "Stable" && d.Members.Count == 1 && d.Members[0].ClientId == "member-b" && d.Members[0].Assignment.Count == 6, "member-b alone with all six partitions", Diagnostics);
        var afterStop = await adminB.DescribeTopicAsync("orders");
        Assert.Equal(6, afterStop.Partitions.Count);
        Assert.Equal("3600000", afterStop.Configs.Single(c => c.Name == "retention.ms").Value);

        // And B serves data to its member: records produced through B reach member-b.
        await ExternalTool.RunAsync(ExternalTool.Require("kcat"), ["-b", _b.Bootstrap, "-P", "-t", "orders", "-p", "3"], stdin: "after-a-left\n");
        await onB.WaitUntilAsync(lines => lines.Any(l => l.EndsWith("after-a-left", StringComparison.Ordinal)), Wait, "member-b receives a record produced after A left");
        _log.WriteLine(Diagnostics());
    }

    [Fact]
    public async Task A_join_waiting_in_the_coordinator_that_is_killed_moves_to_the_survivor_and_the_group_lives_on()
    {
        await StartClusterAsync("Redis");
        var join = new JoinGroupRequest
        {
            GroupId = "doomed",
            SessionTimeoutMs = 10_000,
            RebalanceTimeoutMs = 30_000,
            ProtocolType = "consumer",
            Protocols = [new JoinGroupRequest.Protocol { Name = "range", Metadata = ConsumerProtocolCodec.EncodeSubscription(new(["t"])) }],
        };

        // The coordinator is the leader of __consumer_offsets-0 (created by the first lookup, on
        // both silos); the other silo answers group calls NOT_COORDINATOR.
        var (coordinator, other) = await CoordinatorAsync(exclude: null);
        using (var onOther = await other.ConnectAsync())
        {
            var refused = await onOther.SendAsync<JoinGroupRequest, JoinGroupResponse>(join, 3);
            Assert.Equal(ErrorCode.NotCoordinator, refused.ErrorCode);
        }

        // X joins and syncs through the coordinator; Y's join then waits there for X to rejoin.
        // A coordinator that has just become leader of the offsets partition answers
        // COORDINATOR_LOAD_IN_PROGRESS until it has loaded it: retriable, as clients treat it.
        using var onCoordinator = await coordinator.ConnectAsync();
        var loading = Stopwatch.StartNew();
        var x = await onCoordinator.SendAsync<JoinGroupRequest, JoinGroupResponse>(join, 3);
        while (x.ErrorCode == ErrorCode.CoordinatorLoadInProgress && loading.Elapsed < Wait)
        {
            await Task.Delay(100);
            x = await onCoordinator.SendAsync<JoinGroupRequest, JoinGroupResponse>(join, 3);
        }

        Assert.Equal(ErrorCode.None, x.ErrorCode);
        var xSync = await onCoordinator.SendAsync<SyncGroupRequest, SyncGroupResponse>(new SyncGroupRequest { GroupId = "doomed", GenerationId = x.GenerationId, MemberId = x.MemberId, Assignments = [new SyncGroupRequest.Assignment { MemberId = x.MemberId, AssignmentBytes = new byte[] { 1 } }] }, 3);
        Assert.Equal(ErrorCode.None, xSync.ErrorCode);
        using var waiting = await coordinator.ConnectAsync();
        await waiting.SendOnlyAsync(join, 3);
        await Task.Delay(1_000);

        // The coordinator dies in the middle of that call: Y finds the new coordinator (the
        // survivor, which led no group before and loads them from its replica of the offsets
        // partition), rejoins there, and leads the group alone once X's session is over.
        coordinator.Kill();
        var clock = Stopwatch.StartNew();
        var (next, _) = await CoordinatorAsync(exclude: coordinator);
        Assert.Same(other, next);
        using var onNext = await next.ConnectAsync();
        JoinGroupResponse rejoined;
        do
        {
            await Task.Delay(200);
            rejoined = await onNext.SendAsync<JoinGroupRequest, JoinGroupResponse>(join, 3);
            Assert.True(clock.Elapsed < Wait, $"Y could not rejoin through the new coordinator: {rejoined.ErrorCode}{Diagnostics()}");
        }
        while (rejoined.ErrorCode != ErrorCode.None);

        _log.WriteLine($"Y rejoined {clock.ElapsedMilliseconds} ms after the coordinator was killed");
        Assert.Equal(rejoined.MemberId, rejoined.Leader);
        Assert.Single(rejoined.Members);
    }

    /// <summary>Polls FindCoordinator on the running silos (not <paramref name="exclude"/>) until they all name one of them; returns it and another silo.</summary>
    private async Task<(SiloProcess Coordinator, SiloProcess Other)> CoordinatorAsync(SiloProcess? exclude)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            var silos = new[] { _a, _b }.Where(s => s != exclude).ToList();
            var answers = new List<FindCoordinatorResponse>();
            foreach (var s in silos)
            {
                using var client = await s.ConnectAsync();
                answers.Add(await client.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "doomed" }, 3));
            }

            last = string.Join("; ", answers.Select(a => $"{a.ErrorCode} {a.NodeId}"));
            if (answers.All(a => a.ErrorCode == ErrorCode.None && a.NodeId == answers[0].NodeId))
            {
                var coordinator = answers[0].NodeId == 1 ? _a : _b;
                if (coordinator != exclude)
                {
                    return (coordinator, coordinator == _a ? _b : _a);
                }
            }

            Assert.True(clock.Elapsed < Wait, $"no coordinator agreed on in {Wait.TotalSeconds} s; last seen {last}{Diagnostics()}");
            await Task.Delay(200);
        }
    }
}
