using System.Diagnostics;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Network;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// The group APIs over the wire against a real silo, every supported version: the member life
/// cycle, offsets, describe/list/delete, the errors clients act on, and durability across a clean
/// restart and a kill -9 of the silo process.
/// </summary>
public sealed class GroupApiTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> NoDelay = new() { ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0" };
    private TestSilo _silo = null!;
    private KafkaTestClient _client = null!;

    public async Task InitializeAsync()
    {
        _silo = await TestSilo.StartAsync(NoDelay);
        await _silo.Groups.WhenLoaded;
        _client = await _silo.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _silo.DisposeAsync();
    }

    private async Task<string> CreateTopicAsync(int partitions)
    {
        string topic = BrokerKit.NewTopic("grp");
        var result = await _silo.Topics.CreateAsync(topic, partitions, 1, [], validateOnly: false);
        Assert.True(result.IsOk, result.Message);
        return topic;
    }

    private static JoinGroupRequest Join(string group, string memberId = "", string? instance = null) => new()
    {
        GroupId = group,
        SessionTimeoutMs = 10_000,
        RebalanceTimeoutMs = 20_000,
        MemberId = memberId,
        GroupInstanceId = instance,
        ProtocolType = "consumer",
        Protocols = [new JoinGroupRequest.Protocol { Name = "range", Metadata = ConsumerProtocolCodec.EncodeSubscription(new(["orders"])) }],
    };

    private Task<JoinGroupResponse> JoinAsync(JoinGroupRequest request, short version) => _client.SendAsync<JoinGroupRequest, JoinGroupResponse>(request, version);

    /// <summary>Joins as a consumer would (with the MEMBER_ID_REQUIRED round on v4+) and syncs with the given assignment.</summary>
    private async Task<JoinGroupResponse> JoinAndSyncAsync(string group, short joinVersion, byte[] assignment, string? instance = null)
    {
        var join = await JoinAsync(Join(group, instance: instance), joinVersion);
        if (joinVersion >= 4 && instance is null)
        {
            // KIP-394: a dynamic member's first join only gets its id.
            Assert.Equal(ErrorCode.MemberIdRequired, join.ErrorCode);
            Assert.NotEmpty(join.MemberId);
            join = await JoinAsync(Join(group, join.MemberId, instance), joinVersion);
        }

        Assert.Equal(ErrorCode.None, join.ErrorCode);
        short syncVersion = Math.Min(joinVersion, (short)5);
        var sync = await _client.SendAsync<SyncGroupRequest, SyncGroupResponse>(
            new SyncGroupRequest { GroupId = group, GenerationId = join.GenerationId, MemberId = join.MemberId, GroupInstanceId = instance, ProtocolType = syncVersion >= 5 ? "consumer" : null, ProtocolName = syncVersion >= 5 ? "range" : null, Assignments = [new SyncGroupRequest.Assignment { MemberId = join.MemberId, AssignmentBytes = assignment }] },
            syncVersion);
        Assert.Equal(ErrorCode.None, sync.ErrorCode);
        Assert.Equal(assignment, sync.Assignment.ToArray());
        return join;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public async Task A_member_joins_syncs_heartbeats_and_leaves_in_every_version(short version)
    {
        string group = "life-" + version;
        string? instance = version >= 5 ? "instance-" + version : null;
        byte[] assignment = ConsumerProtocolCodec.EncodeAssignment(new([new("orders", 0), new("orders", 1)]));
        var join = await JoinAndSyncAsync(group, version, assignment, instance);
        Assert.Equal(1, join.GenerationId);
        Assert.Equal(join.MemberId, join.Leader);
        Assert.Equal("range", join.ProtocolName);
        Assert.Equal(ConsumerProtocolCodec.EncodeSubscription(new(["orders"])), join.Members.Single().Metadata.ToArray());

        short hb = Math.Min(version, (short)4);
        Assert.Equal(ErrorCode.None, (await _client.SendAsync<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = group, GenerationId = 1, MemberId = join.MemberId, GroupInstanceId = hb >= 3 ? instance : null }, hb)).ErrorCode);
        Assert.Equal(ErrorCode.IllegalGeneration, (await _client.SendAsync<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = group, GenerationId = 7, MemberId = join.MemberId, GroupInstanceId = hb >= 3 ? instance : null }, hb)).ErrorCode);
        Assert.Equal(ErrorCode.UnknownMemberId, (await _client.SendAsync<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = group, GenerationId = 1, MemberId = "nobody" }, hb)).ErrorCode);

        var described = await _client.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, Math.Min(version, (short)5));
        var d = described.Groups.Single();
        Assert.Equal("Stable", d.GroupState);
        Assert.Equal("range", d.ProtocolData);
        Assert.Equal("omq-tests", d.Members.Single().ClientId);
        Assert.Equal("/127.0.0.1", d.Members.Single().ClientHost);
        Assert.Equal(assignment, d.Members.Single().MemberAssignment.ToArray());

        short lv = Math.Min(version, (short)5);
        var leave = new LeaveGroupRequest { GroupId = group, MemberId = join.MemberId, Members = [new LeaveGroupRequest.Member { MemberId = join.MemberId, GroupInstanceId = instance }] };
        var left = await _client.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(leave, lv);
        Assert.Equal(ErrorCode.None, left.ErrorCode);
        if (lv >= 3)
        {
            Assert.Equal(ErrorCode.None, left.Members.Single().ErrorCode);
        }

        d = (await _client.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, 0)).Groups.Single();
        Assert.Equal("Empty", d.GroupState);
        Assert.Empty(d.Members);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(4, 4)]
    [InlineData(5, 5)]
    [InlineData(6, 6)]
    [InlineData(7, 7)]
    [InlineData(8, 7)]
    public async Task Offsets_commit_and_fetch_back_in_every_version(short commitVersion, short fetchVersion)
    {
        string topic = await CreateTopicAsync(3);
        string group = $"offsets-{commitVersion}";
        var commit = new OffsetCommitRequest
        {
            GroupId = group,
            Topics = [new OffsetCommitRequest.Topic
            {
                Name = topic,
                Partitions =
                [
                    new() { PartitionIndex = 0, CommittedOffset = 41, CommittedLeaderEpoch = commitVersion >= 6 ? 4 : -1, CommittedMetadata = "meta" },
                    new() { PartitionIndex = 2, CommittedOffset = 7, CommittedMetadata = null },
                ],
            }],
        };
        var committed = await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(commit, commitVersion);
        Assert.All(committed.Topics.Single().Partitions, p => Assert.Equal(ErrorCode.None, p.ErrorCode));

        var fetch = await _client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = group, Topics = [new OffsetFetchRequest.Topic { Name = topic, PartitionIndexes = [0, 1, 2] }] }, fetchVersion);
        Assert.Equal(ErrorCode.None, fetch.ErrorCode);
        var parts = fetch.Topics.Single().Partitions;
        Assert.Equal([41L, -1, 7], parts.Select(p => p.CommittedOffset));
        Assert.Equal("meta", parts[0].Metadata);
        if (fetchVersion >= 5)
        {
            Assert.Equal(commitVersion >= 6 ? 4 : -1, parts[0].CommittedLeaderEpoch);
        }

        if (fetchVersion >= 2)
        {
            var all = await _client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = group, Topics = null }, fetchVersion);
            Assert.Equal([0, 2], all.Topics.Single().Partitions.Select(p => p.PartitionIndex));
        }
    }

    [Fact]
    public async Task Commits_to_unknown_partitions_and_bad_group_ids_get_their_error_codes()
    {
        string topic = await CreateTopicAsync(2);
        var commit = new OffsetCommitRequest
        {
            GroupId = "errors",
            Topics =
            [
                new OffsetCommitRequest.Topic { Name = topic, Partitions = [new() { PartitionIndex = 1, CommittedOffset = 5 }, new() { PartitionIndex = 2, CommittedOffset = 5 }] },
                new OffsetCommitRequest.Topic { Name = "no-such-topic", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 5 }] },
            ],
        };
        var response = await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(commit, 7);
        Assert.Equal([ErrorCode.None, ErrorCode.UnknownTopicOrPartition], response.Topics[0].Partitions.Select(p => p.ErrorCode));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, response.Topics[1].Partitions.Single().ErrorCode);

        commit.GroupId = "";
        response = await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(commit, 7);
        Assert.All(response.Topics.SelectMany(t => t.Partitions), p => Assert.Equal(ErrorCode.InvalidGroupId, p.ErrorCode));
        Assert.Equal(ErrorCode.InvalidGroupId, (await JoinAsync(Join(""), 5)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidSessionTimeout, (await JoinAsync(new JoinGroupRequest { GroupId = "g", SessionTimeoutMs = 10, ProtocolType = "consumer", Protocols = Join("g").Protocols }, 5)).ErrorCode);

        // A member of a live group committing with a stale generation.
        string group = "stale";
        var join = await JoinAndSyncAsync(group, 5, []);
        var stale = await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest { GroupId = group, GenerationId = join.GenerationId + 1, MemberId = join.MemberId, Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 1 }] }] }, 7);
        Assert.Equal(ErrorCode.IllegalGeneration, stale.Topics.Single().Partitions.Single().ErrorCode);
    }

    [Fact]
    public async Task Groups_are_listed_described_deleted_and_offsets_deleted()
    {
        string topic = await CreateTopicAsync(2);
        string live = "live-" + Guid.NewGuid().ToString("N");
        string idle = "idle-" + Guid.NewGuid().ToString("N");
        var join = await JoinAndSyncAsync(live, 5, ConsumerProtocolCodec.EncodeAssignment(new([new("orders", 0)])));
        var commit = new OffsetCommitRequest { GroupId = idle, Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 3 }, new() { PartitionIndex = 1, CommittedOffset = 4 }] }] };
        await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(commit, 7);

        var list = await _client.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 4);
        Assert.Equal(ErrorCode.None, list.ErrorCode);
        Assert.Contains(list.Groups, g => g.GroupId == live && g.GroupState == "Stable" && g.ProtocolType == "consumer");
        Assert.Contains(list.Groups, g => g.GroupId == idle && g.GroupState == "Empty");
        var stableOnly = await _client.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest { StatesFilter = ["stable"] }, 4);
        Assert.DoesNotContain(stableOnly.Groups, g => g.GroupId == idle);
        Assert.Contains((await _client.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 0)).Groups, g => g.GroupId == idle);

        var unknown = (await _client.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = ["never-seen"] }, 5)).Groups.Single();
        Assert.Equal(ErrorCode.None, unknown.ErrorCode);
        Assert.Equal("Dead", unknown.GroupState);

        // OffsetDelete: the live group subscribes to "orders", not to the topic; an unknown group is GROUP_ID_NOT_FOUND.
        var od = await _client.SendAsync<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest { GroupId = idle, Topics = [new() { Name = topic, Partitions = [1] }] }, 0);
        Assert.Equal(ErrorCode.None, od.ErrorCode);
        Assert.Equal(ErrorCode.None, od.Topics.Single().Partitions.Single().ErrorCode);
        Assert.Equal(ErrorCode.GroupIdNotFound, (await _client.SendAsync<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest { GroupId = "never-seen", Topics = [new() { Name = topic, Partitions = [0] }] }, 0)).ErrorCode);
        var fetched = await _client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = idle, Topics = null }, 7);
        Assert.Equal([0], fetched.Topics.Single().Partitions.Select(p => p.PartitionIndex));

        var deleted = await _client.SendAsync<DeleteGroupsRequest, DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = [live, idle, "never-seen"] }, 2);
        Assert.Equal([ErrorCode.NonEmptyGroup, ErrorCode.None, ErrorCode.GroupIdNotFound], deleted.Results.Select(r => r.ErrorCode));
        fetched = await _client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = idle, Topics = null }, 7);
        Assert.Empty(fetched.Topics);
        Assert.Equal("Dead", (await _client.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [idle] }, 5)).Groups.Single().GroupState);
        Assert.DoesNotContain((await _client.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 4)).Groups, g => g.GroupId == idle);
        _ = join;
    }

    [Fact]
    public async Task The_internal_offsets_topic_cannot_be_created_or_written_by_clients()
    {
        var created = await _client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest { TimeoutMs = 5000, Topics = [new() { Name = "__consumer_offsets", NumPartitions = 1, ReplicationFactor = 1 }] }, 5);
        Assert.Equal(ErrorCode.TopicAlreadyExists, created.Topics.Single().ErrorCode);
        var produce = new ProduceRequest { Acks = -1, TimeoutMs = 5000, Topics = [new() { Name = "__consumer_offsets", Partitions = [new() { Index = 0, Records = BrokerKit.Batch(1, 1000) }] }] };
        var produced = await _client.SendAsync<ProduceRequest, ProduceResponse>(produce, 9);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, produced.Topics.Single().Partitions.Single().ErrorCode);
    }

    [Fact]
    public async Task Lag_is_log_end_minus_committed_per_partition_with_its_owner()
    {
        string topic = await CreateTopicAsync(2);
        var produce = new ProduceRequest { Acks = -1, TimeoutMs = 5000, Topics = [new() { Name = topic, Partitions = [new() { Index = 0, Records = BrokerKit.Batch(10, 1000) }, new() { Index = 1, Records = BrokerKit.Batch(4, 1000) }] }] };
        await _client.SendAsync<ProduceRequest, ProduceResponse>(produce, 9);
        string group = "lag-" + Guid.NewGuid().ToString("N");
        var join = await JoinAndSyncAsync(group, 5, ConsumerProtocolCodec.EncodeAssignment(new([new(topic, 0), new(topic, 1)])));
        await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest { GroupId = group, GenerationId = join.GenerationId, MemberId = join.MemberId, Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 6 }] }] }, 7);

        var lag = await _silo.Groups.DescribeLagAsync(group);
        Assert.NotNull(lag);
        Assert.Equal(GroupState.Stable, lag.State);
        Assert.Equal([(0, 6L, 10L, 4L), (1, -1L, 4L, -1L)], lag.Partitions.Select(p => (p.Partition, p.CommittedOffset ?? -1, p.LogEndOffset, p.Lag ?? -1)));
        Assert.All(lag.Partitions, p => Assert.Equal(join.MemberId, p.MemberId));
        Assert.Equal(4, lag.TotalLag);
        Assert.Null(await _silo.Groups.DescribeLagAsync("never-seen"));
    }

    [Fact]
    public async Task Offsets_and_the_stable_generation_survive_a_clean_restart()
    {
        string topic = await CreateTopicAsync(1);
        var join = await JoinAndSyncAsync("survivor", 5, [1, 2, 3]);
        await _client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest { GroupId = "survivor", GenerationId = join.GenerationId, MemberId = join.MemberId, Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 77, CommittedMetadata = "m" }] }] }, 7);

        _client.Dispose();
        await _silo.RestartAsync();
        await _silo.Groups.WhenLoaded;
        _client = await _silo.ConnectAsync();

        // The member carries on in its generation: no rebalance needed.
        Assert.Equal(ErrorCode.None, (await _client.SendAsync<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = "survivor", GenerationId = join.GenerationId, MemberId = join.MemberId }, 3)).ErrorCode);
        var sync = await _client.SendAsync<SyncGroupRequest, SyncGroupResponse>(new SyncGroupRequest { GroupId = "survivor", GenerationId = join.GenerationId, MemberId = join.MemberId }, 3);
        Assert.Equal([1, 2, 3], sync.Assignment.ToArray());
        var fetched = await _client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = "survivor", Topics = [new() { Name = topic, PartitionIndexes = [0] }] }, 7);
        Assert.Equal(77, fetched.Topics.Single().Partitions.Single().CommittedOffset);
        Assert.Equal("m", fetched.Topics.Single().Partitions.Single().Metadata);
    }

    [Fact]
    public async Task Acknowledged_commits_survive_a_kill_9_of_the_silo_process()
    {
        string data = Path.Combine(Path.GetTempPath(), "omq-kill9-" + Guid.NewGuid().ToString("N"));
        int port = TestSilo.FreePort();
        try
        {
            await using (var silo = new Cluster.SiloProcess("kill9", new Dictionary<string, string>(), data, port))
            {
                await silo.StartAsync();
                using var client = new KafkaTestClient(await RawKafkaClient.ConnectAsync(port));
                var created = await client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest { TimeoutMs = 5000, Topics = [new() { Name = "k9", NumPartitions = 4, ReplicationFactor = 1 }] }, 5);
                Assert.Equal(ErrorCode.None, created.Topics.Single().ErrorCode);
                for (int i = 1; i <= 200; i++)
                {
                    var r = await client.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest { GroupId = $"k9-{i % 10}", Topics = [new() { Name = "k9", Partitions = [new() { PartitionIndex = i % 4, CommittedOffset = i, CommittedMetadata = $"c{i}" }] }] }, 7);
                    Assert.Equal(ErrorCode.None, r.Topics.Single().Partitions.Single().ErrorCode);
                }

                silo.Kill(); // SIGKILL right after the last acknowledgement: no snapshot, no clean marker
            }

            await using (var silo = new Cluster.SiloProcess("kill9-after", new Dictionary<string, string>(), data, port))
            {
                await silo.StartAsync();
                using var client = new KafkaTestClient(await RawKafkaClient.ConnectAsync(port));
                for (int g = 0; g < 10; g++)
                {
                    OffsetFetchResponse fetched;
                    var deadline = DateTime.UtcNow.AddSeconds(20);
                    do
                    {
                        fetched = await client.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = $"k9-{g}", Topics = [new() { Name = "k9", PartitionIndexes = [0, 1, 2, 3] }] }, 7);
                    }
                    while (fetched.ErrorCode == ErrorCode.CoordinatorLoadInProgress && DateTime.UtcNow < deadline);

                    Assert.Equal(ErrorCode.None, fetched.ErrorCode);
                    // The last commit of group g to partition p is the largest i <= 200 with i % 10 == g and i % 4 == p.
                    foreach (var p in fetched.Topics.Single().Partitions)
                    {
                        long expected = Enumerable.Range(1, 200).Where(i => i % 10 == g && i % 4 == p.PartitionIndex).Select(i => (long)i).DefaultIfEmpty(-1).Max();
                        Assert.Equal(expected, p.CommittedOffset);
                        Assert.Equal(expected < 0 ? "" : $"c{expected}", p.Metadata);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
