using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// The replication side of the Kafka protocol on one silo (which leads its partitions alone, at
/// leader epoch 0): the refusals a misbehaving follower or a confused client gets, each with its
/// Kafka error code while the partition keeps serving, and OffsetForLeaderEpoch's answers.
/// </summary>
public sealed class ReplicaProtocolTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private TestSilo Silo => fixture.Silo;

    private static FetchRequest Fetch(string topic, long offset, int replicaId, int currentLeaderEpoch)
    {
        var request = BrokerKit.FetchRequestFor(topic, 0, offset);
        request.ReplicaId = replicaId;
        request.Topics[0].Partitions[0].CurrentLeaderEpoch = currentLeaderEpoch;
        return request;
    }

    private static async Task<FetchResponse.Partition> SendAsync(KafkaTestClient client, FetchRequest request) =>
        (await client.SendAsync<FetchRequest, FetchResponse>(request, 12)).Topics[0].Partitions[0];

    [Fact]
    public async Task A_replica_fetch_from_a_broker_that_is_not_a_replica_is_NOT_LEADER_OR_FOLLOWER_and_consumers_are_unaffected()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("not-replica");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(2, BrokerKit.Now));

        var refused = await SendAsync(client, Fetch(topic, 0, replicaId: 7, currentLeaderEpoch: 0));
        Assert.Equal(ErrorCode.NotLeaderOrFollower, refused.ErrorCode);
        Assert.Empty(BrokerKit.SplitBatches(refused.Records));

        var consumer = await SendAsync(client, Fetch(topic, 0, replicaId: -1, currentLeaderEpoch: 0));
        Assert.Equal(ErrorCode.None, consumer.ErrorCode);
        Assert.Single(BrokerKit.SplitBatches(consumer.Records));
        Assert.Equal(2, consumer.HighWatermark);
    }

    [Fact]
    public async Task A_fetch_with_a_future_leader_epoch_is_UNKNOWN_LEADER_EPOCH_and_no_epoch_means_no_check()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("future-epoch");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(1, BrokerKit.Now));

        Assert.Equal(ErrorCode.UnknownLeaderEpoch, (await SendAsync(client, Fetch(topic, 0, -1, currentLeaderEpoch: 3))).ErrorCode);
        Assert.Equal(ErrorCode.None, (await SendAsync(client, Fetch(topic, 0, -1, currentLeaderEpoch: -1))).ErrorCode);
        Assert.Equal(ErrorCode.None, (await SendAsync(client, Fetch(topic, 0, -1, currentLeaderEpoch: 0))).ErrorCode);
    }

    [Fact]
    public async Task Produced_batches_carry_the_leader_epoch_and_OffsetForLeaderEpoch_answers_where_it_ends()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("epochs");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        byte[] batch = BrokerKit.Batch(3, BrokerKit.Now);
        await BrokerKit.ProduceOkAsync(client, topic, 0, batch);
        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(2, BrokerKit.Now));

        // The producer sent partitionLeaderEpoch -1; the broker stored its epoch (0).
        var stored = BrokerKit.SplitBatches((await SendAsync(client, Fetch(topic, 0, -1, 0))).Records);
        Assert.Equal(BrokerKit.Stamped(batch, 0, leaderEpoch: 0), stored[0]);

        var answer = await client.SendAsync<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
        {
            ReplicaId = 5,
            Topics =
            [
                new OffsetForLeaderEpochRequest.Topic
                {
                    Name = topic,
                    Partitions =
                    [
                        new OffsetForLeaderEpochRequest.Partition { PartitionIndex = 0, CurrentLeaderEpoch = 0, LeaderEpoch = 0 },
                        new OffsetForLeaderEpochRequest.Partition { PartitionIndex = 1, CurrentLeaderEpoch = 0, LeaderEpoch = 0 },
                    ],
                },
            ],
        }, 4);
        var partitions = answer.Topics.Single().Partitions;
        Assert.Equal(ErrorCode.None, partitions[0].ErrorCode);
        Assert.Equal(0, partitions[0].LeaderEpoch);
        Assert.Equal(5, partitions[0].EndOffset); // the current epoch ends at the log end
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, partitions[1].ErrorCode);

        var fenced = await client.SendAsync<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
        {
            ReplicaId = 5,
            Topics = [new OffsetForLeaderEpochRequest.Topic { Name = topic, Partitions = [new OffsetForLeaderEpochRequest.Partition { PartitionIndex = 0, CurrentLeaderEpoch = 9, LeaderEpoch = 0 }] }],
        }, 3);
        Assert.Equal(ErrorCode.UnknownLeaderEpoch, fenced.Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public async Task Metadata_lists_this_broker_as_leader_replica_and_isr_at_epoch_zero()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("meta-repl");
        await BrokerKit.CreateTopicOkAsync(client, topic, 2);

        var described = await BrokerKit.DescribeTopicAsync(client, topic);
        Assert.All(described.Partitions, p =>
        {
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            Assert.Equal(0, p.LeaderEpoch);
            Assert.Equal([p.LeaderId], p.ReplicaNodes);
            Assert.Equal([p.LeaderId], p.IsrNodes);
            Assert.Empty(p.OfflineReplicas);
        });
    }
}
