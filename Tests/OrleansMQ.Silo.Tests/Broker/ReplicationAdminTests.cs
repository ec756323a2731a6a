using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// DescribeCluster, DescribeTopicPartitions, ElectLeaders, Alter/ListPartitionReassignments and
/// DeleteRecords against one real silo, checked where a user would look (Metadata, Fetch,
/// ListOffsets). The multi-silo moves are in Cluster/ReplicationAdminClusterTests.
/// </summary>
public sealed class ReplicationAdminTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> DeleteRecordsVersions = [0, 1, 2];

    public static readonly TheoryData<short> ElectVersions = [0, 1, 2];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task DescribeCluster_lists_the_brokers_and_controller_that_Metadata_does(short version)
    {
        using var client = await Silo.ConnectAsync();
        var metadata = await BrokerKit.MetadataAsync(client, []);

        var cluster = await client.SendAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest(), version);

        Assert.Equal(ErrorCode.None, cluster.ErrorCode);
        Assert.Equal(metadata.ClusterId, cluster.ClusterId);
        Assert.False(string.IsNullOrEmpty(cluster.ClusterId));
        Assert.Equal(metadata.ControllerId, cluster.ControllerId);
        var broker = Assert.Single(cluster.Brokers);
        var expected = Assert.Single(metadata.Brokers);
        Assert.Equal((expected.NodeId, expected.Host, expected.Port), (broker.BrokerId, broker.Host, broker.Port));
        Assert.Equal(Silo.Port, broker.Port);
        Assert.Equal(int.MinValue, cluster.ClusterAuthorizedOperations);
    }

    [Fact]
    public async Task DescribeTopicPartitions_pages_across_topics_in_name_order_and_flags_unknown_topics()
    {
        using var client = await Silo.ConnectAsync();
        string prefix = BrokerKit.NewTopic("dtp");
        string a = prefix + "-a", b = prefix + "-b", missing = prefix + "-c-missing";
        await BrokerKit.CreateTopicOkAsync(client, b, 2);
        await BrokerKit.CreateTopicOkAsync(client, a, 3);
        var topics = new List<DescribeTopicPartitionsRequest.TopicRequest> { new() { Name = missing }, new() { Name = b }, new() { Name = a } };

        var page1 = await DescribeAsync(client, topics, limit: 2, cursor: null);
        Assert.Equal([(a, 0), (a, 1)], Partitions(page1));
        Assert.Equal((a, 2), (page1.NextCursor!.TopicName, page1.NextCursor.PartitionIndex));

        var page2 = await DescribeAsync(client, topics, limit: 2, page1.NextCursor);
        Assert.Equal([(a, 2), (b, 0)], Partitions(page2));
        Assert.Equal((b, 1), (page2.NextCursor!.TopicName, page2.NextCursor.PartitionIndex));

        var page3 = await DescribeAsync(client, topics, limit: 2, page2.NextCursor);
        Assert.Equal([(b, 1)], Partitions(page3));
        Assert.Null(page3.NextCursor);
        var unknown = Assert.Single(page3.Topics, t => t.Name == missing);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknown.ErrorCode);
        Assert.Empty(unknown.Partitions);

        // Every partition as Metadata shows it: led by this silo, which is the whole ISR.
        var metadata = await BrokerKit.DescribeTopicAsync(client, a);
        var described = page1.Topics.Single(t => t.Name == a);
        Assert.NotEqual(Guid.Empty, described.TopicId);
        foreach (var p in described.Partitions)
        {
            var m = metadata.Partitions.Single(x => x.PartitionIndex == p.PartitionIndex);
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            Assert.Equal(m.LeaderId, p.LeaderId);
            Assert.Equal(m.LeaderEpoch, p.LeaderEpoch);
            Assert.Equal(m.ReplicaNodes, p.ReplicaNodes);
            Assert.Equal(m.IsrNodes, p.IsrNodes);
            Assert.Empty(p.OfflineReplicas);
        }
    }

    [Theory]
    [MemberData(nameof(ElectVersions))]
    public async Task ElectLeaders_on_one_silo_answers_election_not_needed(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"elect-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 2);
        var types = version == 0 ? new[] { ElectionType.Preferred } : [ElectionType.Preferred, ElectionType.Unclean];
        foreach (var type in types)
        {
            var request = new ElectLeadersRequest
            {
                ElectionType = type,
                TopicPartitions = [new ElectLeadersRequest.Topic { Name = topic, Partitions = [0, 1] }],
            };
            var response = await client.SendAsync<ElectLeadersRequest, ElectLeadersResponse>(request, version);
            var t = Assert.Single(response.ReplicaElectionResults);
            Assert.Equal(topic, t.Name);
            Assert.Equal([0, 1], t.PartitionResults.Select(p => p.PartitionIndex).Order());
            Assert.All(t.PartitionResults, p => Assert.Equal(ErrorCode.ElectionNotNeeded, p.ErrorCode));
        }

        var unknown = await client.SendAsync<ElectLeadersRequest, ElectLeadersResponse>(
            new ElectLeadersRequest { TopicPartitions = [new ElectLeadersRequest.Topic { Name = topic, Partitions = [7] }] }, version);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Assert.Single(Assert.Single(unknown.ReplicaElectionResults).PartitionResults).ErrorCode);

        // No topic list: every partition of every topic, ours among them.
        var all = await client.SendAsync<ElectLeadersRequest, ElectLeadersResponse>(new ElectLeadersRequest { TopicPartitions = null }, version);
        var ours = Assert.Single(all.ReplicaElectionResults, r => r.Name == topic);
        Assert.Equal(2, ours.PartitionResults.Count);
        Assert.All(ours.PartitionResults, p => Assert.Equal(ErrorCode.ElectionNotNeeded, p.ErrorCode));
    }

    [Fact]
    public async Task Reassignments_to_unknown_brokers_duplicates_or_nothing_are_refused_and_none_is_listed()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("reassign");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        var before = await BrokerKit.DescribeTopicAsync(client, topic);
        int self = Assert.Single(before.Partitions).LeaderId;

        foreach (var replicas in new List<int>[] { [self, 999], [self, self], [] })
        {
            var refused = await ReassignAsync(client, topic, 0, replicas);
            Assert.Equal(ErrorCode.InvalidReplicaAssignment, refused.ErrorCode);
            Assert.False(string.IsNullOrEmpty(refused.ErrorMessage));
        }

        Assert.Equal(ErrorCode.NoReassignmentInProgress, (await ReassignAsync(client, topic, 0, null)).ErrorCode);
        Assert.Equal(ErrorCode.None, (await ReassignAsync(client, topic, 0, [self])).ErrorCode); // already there: nothing to move
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (await ReassignAsync(client, BrokerKit.NewTopic("nope"), 0, [self])).ErrorCode);

        var listed = await client.SendAsync<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>(new ListPartitionReassignmentsRequest { Topics = null }, 0);
        Assert.Equal(ErrorCode.None, listed.ErrorCode);
        Assert.DoesNotContain(listed.Topics, t => t.Name == topic);

        var after = await BrokerKit.DescribeTopicAsync(client, topic);
        Assert.Equal([self], Assert.Single(after.Partitions).ReplicaNodes);
        Assert.Equal(Assert.Single(before.Partitions).LeaderEpoch, Assert.Single(after.Partitions).LeaderEpoch);
    }

    [Theory]
    [MemberData(nameof(DeleteRecordsVersions))]
    public async Task DeleteRecords_moves_the_low_watermark_that_Fetch_and_ListOffsets_see(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"delrec-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        for (int i = 0; i < 3; i++)
        {
            await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(2, BrokerKit.Now, tag: $"b{i}"));
        }

        var deleted = await DeleteRecordsAsync(client, topic, 4, version);
        Assert.Equal(ErrorCode.None, deleted.ErrorCode);
        Assert.Equal(4, deleted.LowWatermark);
        Assert.Equal(4, await BrokerKit.EarliestOffsetAsync(client, topic));
        Assert.Equal(6, await BrokerKit.LatestOffsetAsync(client, topic));

        var below = await BrokerKit.FetchAsync(client, topic, 0, 2);
        Assert.Equal(ErrorCode.OffsetOutOfRange, below.ErrorCode);
        var from = await BrokerKit.FetchAsync(client, topic, 0, 4);
        Assert.Equal(ErrorCode.None, from.ErrorCode);
        Assert.Equal(4, from.LogStartOffset);
        var records = BrokerKit.SplitBatches(from.Records).SelectMany(BrokerKit.ReadRecords).Select(r => r.Value).ToList();
        Assert.NotEmpty(records);
        Assert.DoesNotContain(records, v => v.Contains("-b0-", StringComparison.Ordinal));

        Assert.Equal(ErrorCode.OffsetOutOfRange, (await DeleteRecordsAsync(client, topic, 7, version)).ErrorCode);
        Assert.Equal(4, (await DeleteRecordsAsync(client, topic, 1, version)).LowWatermark); // never backwards

        var toEnd = await DeleteRecordsAsync(client, topic, -1, version);
        Assert.Equal(ErrorCode.None, toEnd.ErrorCode);
        Assert.Equal(6, toEnd.LowWatermark);
        Assert.Equal(6, await BrokerKit.EarliestOffsetAsync(client, topic));

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (await DeleteRecordsAsync(client, topic + "-x", 0, version)).ErrorCode);
    }

    private static async Task<DescribeTopicPartitionsResponse> DescribeAsync(KafkaTestClient client, List<DescribeTopicPartitionsRequest.TopicRequest> topics, int limit, DescribeTopicPartitionsResponse.PageCursor? cursor)
    {
        var request = new DescribeTopicPartitionsRequest
        {
            Topics = topics,
            ResponsePartitionLimit = limit,
            Cursor = cursor is null ? null : new DescribeTopicPartitionsRequest.PageCursor { TopicName = cursor.TopicName, PartitionIndex = cursor.PartitionIndex },
        };
        return await client.SendAsync<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>(request, 0);
    }

    private static List<(string, int)> Partitions(DescribeTopicPartitionsResponse response) =>
        [.. response.Topics.SelectMany(t => t.Partitions.Select(p => (t.Name!, p.PartitionIndex)))];

    private static async Task<AlterPartitionReassignmentsResponse.Partition> ReassignAsync(KafkaTestClient client, string topic, int partition, List<int>? replicas)
    {
        var request = new AlterPartitionReassignmentsRequest
        {
            Topics = [new AlterPartitionReassignmentsRequest.Topic { Name = topic, Partitions = [new AlterPartitionReassignmentsRequest.Partition { PartitionIndex = partition, Replicas = replicas }] }],
        };
        var response = await client.SendAsync<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>(request, 0);
        Assert.Equal(ErrorCode.None, response.ErrorCode);
        return Assert.Single(Assert.Single(response.Responses).Partitions);
    }

    private static async Task<DeleteRecordsResponse.Partition> DeleteRecordsAsync(KafkaTestClient client, string topic, long offset, short version)
    {
        var request = new DeleteRecordsRequest
        {
            Topics = [new DeleteRecordsRequest.Topic { Name = topic, Partitions = [new DeleteRecordsRequest.Partition { PartitionIndex = 0, Offset = offset }] }],
        };
        var response = await client.SendAsync<DeleteRecordsRequest, DeleteRecordsResponse>(request, version);
        return Assert.Single(Assert.Single(response.Topics).Partitions);
    }
}
