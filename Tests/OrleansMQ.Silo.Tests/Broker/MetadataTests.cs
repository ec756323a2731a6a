using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>Metadata v0–v9: the broker list, the controller, the cluster id and topic auto-creation.</summary>
public sealed class MetadataTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> AllVersions = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    public static readonly TheoryData<short> FlagVersions = [4, 5, 6, 7, 8, 9];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task Lists_this_broker_with_its_advertised_address_as_the_only_broker_and_controller(short version)
    {
        using var client = await Silo.ConnectAsync();
        var response = await BrokerKit.MetadataAsync(client, null, version);

        var broker = Assert.Single(response.Brokers);
        Assert.Equal(0, broker.NodeId);
        Assert.Equal("127.0.0.1", broker.Host);
        Assert.Equal(Silo.Port, broker.Port);
        if (version >= 1)
        {
            Assert.Equal(broker.NodeId, response.ControllerId);
        }

        if (version >= 2)
        {
            Assert.False(string.IsNullOrEmpty(response.ClusterId));
        }
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task A_requested_unknown_topic_is_auto_created_with_one_partition_led_by_this_broker(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"auto-v{version}");

        var response = await BrokerKit.MetadataAsync(client, [name], version, allowAutoCreate: true);

        var topic = Assert.Single(response.Topics);
        Assert.Equal(name, topic.Name);
        Assert.Equal(ErrorCode.None, topic.ErrorCode);
        Assert.False(topic.IsInternal);
        var partition = Assert.Single(topic.Partitions);
        Assert.Equal(ErrorCode.None, partition.ErrorCode);
        Assert.Equal(0, partition.PartitionIndex);
        Assert.Equal(0, partition.LeaderId);
        Assert.Equal([0], partition.ReplicaNodes);
        Assert.Equal([0], partition.IsrNodes);
        Assert.Contains(name, await BrokerKit.AllTopicNamesAsync(client));
    }

    [Theory]
    [MemberData(nameof(FlagVersions))]
    public async Task With_auto_creation_disallowed_an_unknown_topic_is_UNKNOWN_TOPIC_OR_PARTITION_and_stays_unknown(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"noauto-v{version}");

        var response = await BrokerKit.MetadataAsync(client, [name], version, allowAutoCreate: false);

        var topic = Assert.Single(response.Topics);
        Assert.Equal(name, topic.Name);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, topic.ErrorCode);
        Assert.Empty(topic.Partitions);
        Assert.DoesNotContain(name, await BrokerKit.AllTopicNamesAsync(client));
    }

    [Theory]
    [InlineData(0, "bad name!")]
    [InlineData(3, "bad name!")]
    [InlineData(4, "bad name!")]
    [InlineData(9, "bad name!")]
    [InlineData(0, "..")]
    [InlineData(1, ".")]
    [InlineData(9, "..")]
    public async Task An_invalid_topic_name_is_INVALID_TOPIC_EXCEPTION_and_nothing_is_created(short version, string name)
    {
        using var client = await Silo.ConnectAsync();

        var response = await BrokerKit.MetadataAsync(client, [name], version, allowAutoCreate: true);

        var topic = Assert.Single(response.Topics);
        Assert.Equal(name, topic.Name);
        Assert.Equal(ErrorCode.InvalidTopicException, topic.ErrorCode);
        Assert.Empty(topic.Partitions);
        Assert.DoesNotContain(name, await BrokerKit.AllTopicNamesAsync(client));
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task No_topic_list_means_all_topics_with_their_partitions(short version)
    {
        using var client = await Silo.ConnectAsync();
        string one = BrokerKit.NewTopic("all-a");
        string three = BrokerKit.NewTopic("all-b");
        await BrokerKit.CreateTopicOkAsync(client, one, 1);
        await BrokerKit.CreateTopicOkAsync(client, three, 3);

        var response = await BrokerKit.MetadataAsync(client, null, version);

        Assert.Single(response.Topics, t => t.Name == one && t.ErrorCode == ErrorCode.None && t.Partitions.Count == 1);
        var b = Assert.Single(response.Topics, t => t.Name == three);
        Assert.Equal([0, 1, 2], b.Partitions.Select(p => p.PartitionIndex).Order());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public async Task An_empty_topic_list_means_no_topics_from_v1(short version)
    {
        using var client = await Silo.ConnectAsync();
        await BrokerKit.CreateTopicOkAsync(client, BrokerKit.NewTopic("empty-list"), 1);

        var response = await BrokerKit.MetadataAsync(client, [], version);

        Assert.Empty(response.Topics);
        Assert.Single(response.Brokers);
    }
}
