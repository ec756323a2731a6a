using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Grains;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Silo.Tests.Groups;
using OrleansMQ.Storage.Engine;
using Xunit;

namespace OrleansMQ.Silo.Tests.Grains;

/// <summary>
/// The consumer group grain in a real Orleans silo (TestingHost, one in-process silo) over a real
/// offsets partition: long waits across the grain boundary, and timeouts on Orleans' grain clock
/// (a fake one where the test drives time).
/// </summary>
public sealed class ConsumerGroupGrainTests : IAsyncLifetime
{
    private static readonly ConcurrentDictionary<string, (FakeClock? Clock, GroupSettings Settings, string Directory)> Setups = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("omq-group-grain-").FullName;
    private readonly List<TestCluster> _clusters = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var cluster in _clusters)
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private async Task<IGrainFactory> StartAsync(GroupSettings settings, FakeClock? clock)
    {
        string key = Guid.NewGuid().ToString("N");
        Setups[key] = (clock, settings, Path.Combine(_dir, key));
        var builder = new TestClusterBuilder(initialSilosCount: 1);
        builder.Properties[GroupSiloConfigurator.SetupKey] = key;
        builder.AddSiloBuilderConfigurator<GroupSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        _clusters.Add(cluster);
        var services = ((InProcessSiloHandle)cluster.Primary!).SiloHost.Services;
        await services.GetRequiredService<OffsetStore>().LoadAsync(CancellationToken.None);
        return cluster.GrainFactory;
    }

    private static JoinGroupCall Join(string clientId, int sessionTimeoutMs = 10_000, int rebalanceTimeoutMs = 20_000) => new()
    {
        ClientId = clientId,
        SessionTimeoutMs = sessionTimeoutMs,
        RebalanceTimeoutMs = rebalanceTimeoutMs,
        ProtocolType = "consumer",
        Protocols = [new GroupProtocol("range", ConsumerProtocolCodec.EncodeSubscription(new(["t"])))],
    };

    [Fact]
    public async Task A_rebalance_answers_members_that_joined_over_several_seconds_in_one_generation()
    {
        // Kafka's initial delay: the first rebalance of an empty group waits 3 s for more members,
        // each newcomer restarting the wait. Four members arrive one per second, so the first
        // JoinGroup waits about 6 s inside the grain while the others' calls interleave with it.
        var grains = await StartAsync(new GroupSettings { InitialRebalanceDelayMs = 3_000 }, clock: null);
        var group = grains.GetGrain<IConsumerGroupGrain>("slow-joiners");
        var clock = Stopwatch.StartNew();
        var joins = new List<Task<JoinGroupOutcome>>();
        for (int i = 0; i < 4; i++)
        {
            joins.Add(group.JoinAsync(Join($"c{i}")));
            await Task.Delay(1_000);
        }

        var first = await joins[0];
        var outcomes = await Task.WhenAll(joins);
        var elapsed = clock.Elapsed;

        Assert.All(outcomes, o => Assert.Equal(GroupError.None, o.Error));
        Assert.Single(outcomes.Select(o => o.GenerationId).Distinct());
        var leader = Assert.Single(outcomes, o => o.Members.Count > 0);
        Assert.Equal(outcomes.Select(o => o.MemberId).Order(), leader.Members.Select(m => m.MemberId).Order());
        Assert.Equal(4, outcomes.Select(o => o.MemberId).Distinct().Count());
        Assert.True(elapsed >= TimeSpan.FromSeconds(5.5), $"the rebalance completed after {elapsed.TotalSeconds:F1} s, before the last member's delay ran out");
        Assert.True(first.GenerationId >= 1);

        // The leader's SyncGroup hands everyone their assignment; a follower's SyncGroup waits for it.
        var follower = outcomes.First(o => o.MemberId != leader.MemberId);
        var followerSync = group.SyncAsync(new SyncGroupCall(follower.MemberId, null, first.GenerationId, "consumer", "range", []));
        await Task.Delay(500);
        Assert.False(followerSync.IsCompleted, "a follower's SyncGroup answers only once the leader's assignment arrives");
        var assignments = outcomes.ToDictionary(o => o.MemberId, o => new byte[] { (byte)(o == follower ? 1 : 2) });
        var leaderSync = await group.SyncAsync(new SyncGroupCall(leader.MemberId, null, first.GenerationId, "consumer", "range", assignments));
        Assert.Equal(GroupError.None, leaderSync.Error);
        var followerAnswer = await followerSync;
        Assert.Equal(new byte[] { 1 }, followerAnswer.Assignment);
        Assert.Equal(GroupState.Stable, (await group.DescribeAsync()).State);
    }

    [Fact]
    public async Task A_member_that_stops_heartbeating_is_expired_by_the_grain_timer_on_the_grain_clock()
    {
        var fake = new FakeClock();
        var grains = await StartAsync(new GroupSettings { InitialRebalanceDelayMs = 0 }, fake);
        var group = grains.GetGrain<IConsumerGroupGrain>("quiet");
        var joined = await group.JoinAsync(Join("c", sessionTimeoutMs: 10_000));
        Assert.Equal(GroupError.None, joined.Error);
        string m = joined.MemberId;
        var synced = await group.SyncAsync(new SyncGroupCall(m, null, joined.GenerationId, null, null, new Dictionary<string, byte[]> { [m] = [] }));
        Assert.Equal(GroupError.None, synced.Error);

        // Within the session timeout, a heartbeat keeps the member.
        fake.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(GroupError.None, await group.HeartbeatAsync(m, null, joined.GenerationId));

        // Silence past it: nobody calls the grain; its timer (on the fake clock) expires the member.
        fake.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(GroupState.Stable, (await group.DescribeAsync()).State);
        fake.Advance(TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        while ((await group.DescribeAsync()).State != GroupState.Empty)
        {
            Assert.True(clock.Elapsed < Wait, "the member was not expired after its session timeout");
            await Task.Delay(20);
        }

        Assert.Equal(GroupError.UnknownMemberId, await group.HeartbeatAsync(m, null, joined.GenerationId));
    }

    /// <summary>The silo's side: storage in the test's folder, the offsets partition, group settings, and (optionally) a fake grain clock.</summary>
    public sealed class GroupSiloConfigurator : ISiloConfigurator
    {
        public const string SetupKey = "OrleansMQTestGroupSetup";

        public void Configure(ISiloBuilder siloBuilder)
        {
            var (clock, settings, directory) = Setups[siloBuilder.Configuration[SetupKey]!];
            var services = siloBuilder.Services;
            services.AddSingleton(_ => StorageEngine.Open(OffsetStoreTests.StorageOptionsFor(directory)));
            services.AddSingleton(sp => new OffsetStore(sp.GetRequiredService<StorageEngine>(), Path.Combine(directory, "offsets.snapshot"), NullLogger.Instance, clock ?? TimeProvider.System));
            services.AddSingleton(settings);
            services.AddSingleton<GroupDirectory>();
            // The group grain's placement (on the offsets partition's leader; here, unplaced: this silo).
            services.AddSingleton(sp => new TopicCatalog(sp.GetRequiredService<StorageEngine>()));
            services.AddSingleton(_ => new BrokerDirectory(0));
            services.AddPlacementDirector<CoordinatorPlacementStrategy, CoordinatorPlacementDirector>();
            if (clock is not null)
            {
                // Only the grains' clock is fake: the silo's own loops (membership, messaging) keep real time.
                services.AddKeyedSingleton<TimeProvider>(TimeProviderNames.Grains, clock);
            }
        }
    }
}
