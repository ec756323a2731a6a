using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>CreateTopics v0–v5, DeleteTopics v0–v4 and CreatePartitions v0–v2.</summary>
public sealed class TopicAdminTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> CreateVersions = [0, 1, 2, 3, 4, 5];

    public static readonly TheoryData<short> ValidateOnlyVersions = [1, 2, 3, 4, 5];

    public static readonly TheoryData<short> DeleteVersions = [0, 1, 2, 3, 4];

    public static readonly TheoryData<short> CreatePartitionsVersions = [0, 1, 2];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(CreateVersions))]
    public async Task CreateTopics_creates_the_partitions_and_configs_asked_for(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"create-v{version}");

        var created = await BrokerKit.CreateTopicAsync(client, name, 3, [("retention.ms", "3600000"), ("max.message.bytes", "5000")], version);

        Assert.Equal(ErrorCode.None, created.ErrorCode);
        if (version >= 5)
        {
            Assert.Equal(3, created.NumPartitions);
            Assert.Equal(1, created.ReplicationFactor);
            Assert.NotNull(created.Configs);
            var retention = Assert.Single(created.Configs, c => c.Name == "retention.ms");
            Assert.Equal("3600000", retention.Value);
            Assert.Equal(ConfigSource.DynamicTopicConfig, retention.ConfigSource);
            var cleanup = Assert.Single(created.Configs, c => c.Name == "cleanup.policy");
            Assert.Equal("delete", cleanup.Value);
            Assert.Equal(ConfigSource.DefaultConfig, cleanup.ConfigSource);
        }

        var topic = await BrokerKit.DescribeTopicAsync(client, name);
        Assert.Equal(ErrorCode.None, topic.ErrorCode);
        Assert.Equal([0, 1, 2], topic.Partitions.Select(p => p.PartitionIndex).Order());

        var configs = await DescribeTopicConfigsAsync(client, name);
        Assert.Equal("3600000", configs["retention.ms"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, configs["retention.ms"].ConfigSource);
        Assert.Equal("5000", configs["max.message.bytes"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, configs["max.message.bytes"].ConfigSource);
        Assert.Equal("CreateTime", configs["message.timestamp.type"].Value);
        Assert.Equal(ConfigSource.DefaultConfig, configs["message.timestamp.type"].ConfigSource);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Minus_one_partitions_and_replication_factor_take_the_broker_defaults(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"defaults-v{version}");

        var created = await BrokerKit.CreateTopicAsync(client, name, -1, null, version, replicationFactor: -1);

        Assert.Equal(ErrorCode.None, created.ErrorCode);
        Assert.Single((await BrokerKit.DescribeTopicAsync(client, name)).Partitions);
    }

    [Theory]
    [MemberData(nameof(CreateVersions))]
    public async Task Creating_an_existing_topic_is_TOPIC_ALREADY_EXISTS_and_changes_nothing(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"exists-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 2);

        var again = await BrokerKit.CreateTopicAsync(client, name, 5, [("retention.ms", "1000")], version);

        Assert.Equal(ErrorCode.TopicAlreadyExists, again.ErrorCode);
        Assert.Equal(2, (await BrokerKit.DescribeTopicAsync(client, name)).Partitions.Count);
        Assert.Equal(ConfigSource.DefaultConfig, (await DescribeTopicConfigsAsync(client, name))["retention.ms"].ConfigSource);
    }

    [Theory]
    [InlineData(0, "bad name!")]
    [InlineData(2, "..")]
    [InlineData(5, "bad name!")]
    [InlineData(5, ".")]
    [InlineData(5, "")]
    public async Task An_invalid_topic_name_is_INVALID_TOPIC_EXCEPTION(short version, string name)
    {
        using var client = await Silo.ConnectAsync();

        var created = await BrokerKit.CreateTopicAsync(client, name, 1, null, version);

        Assert.Equal(ErrorCode.InvalidTopicException, created.ErrorCode);
        Assert.DoesNotContain(name, await BrokerKit.AllTopicNamesAsync(client));
    }

    [Fact]
    public async Task Names_of_up_to_249_characters_are_valid_and_longer_ones_INVALID_TOPIC_EXCEPTION()
    {
        using var client = await Silo.ConnectAsync();

        var tooLong = await BrokerKit.CreateTopicAsync(client, new string('x', 250), 1);
        Assert.Equal(ErrorCode.InvalidTopicException, tooLong.ErrorCode);

        foreach (int length in new[] { 200, 201, 249 })
        {
            string name = BrokerKit.NewTopic("long").PadRight(length, 'y');
            var created = await BrokerKit.CreateTopicAsync(client, name, 1);
            Assert.True(created.ErrorCode == ErrorCode.None, $"a {length}-character name: {created.ErrorCode} {created.ErrorMessage}");
            Assert.Equal(ErrorCode.None, (await BrokerKit.DescribeTopicAsync(client, name)).ErrorCode);
        }
    }

    [Theory]
    [MemberData(nameof(CreateVersions))]
    public async Task A_replication_factor_above_one_is_INVALID_REPLICATION_FACTOR_on_a_single_node(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"rf3-v{version}");

        var created = await BrokerKit.CreateTopicAsync(client, name, 1, null, version, replicationFactor: 3);

        Assert.Equal(ErrorCode.InvalidReplicationFactor, created.ErrorCode);
        await AssertDoesNotExistAsync(client, name);
    }

    [Theory]
    [InlineData(0, "no.such.config", "1")]
    [InlineData(5, "no.such.config", "1")]
    [InlineData(0, "retention.ms", "abc")]
    [InlineData(3, "retention.ms", "abc")]
    [InlineData(5, "retention.ms", "abc")]
    [InlineData(5, "message.timestamp.type", "WallClock")]
    [InlineData(5, "max.message.bytes", "-5")]
    public async Task An_unknown_config_or_a_bad_value_is_INVALID_CONFIG(short version, string config, string value)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"badconfig-v{version}");

        var created = await BrokerKit.CreateTopicAsync(client, name, 1, [(config, value)], version);

        Assert.Equal(ErrorCode.InvalidConfig, created.ErrorCode);
        await AssertDoesNotExistAsync(client, name);
    }

    [Theory]
    [MemberData(nameof(CreateVersions))]
    public async Task Zero_partitions_is_INVALID_PARTITIONS(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"zero-v{version}");

        var created = await BrokerKit.CreateTopicAsync(client, name, 0, null, version);

        Assert.Equal(ErrorCode.InvalidPartitions, created.ErrorCode);
        await AssertDoesNotExistAsync(client, name);
    }

    [Theory]
    [MemberData(nameof(ValidateOnlyVersions))]
    public async Task Validate_only_answers_as_a_create_would_and_creates_nothing(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"validate-v{version}");

        var ok = await BrokerKit.CreateTopicAsync(client, name, 4, [("retention.ms", "1000")], version, validateOnly: true);
        var bad = await BrokerKit.CreateTopicAsync(client, name, 4, [("retention.ms", "abc")], version, validateOnly: true);

        Assert.Equal(ErrorCode.None, ok.ErrorCode);
        if (version >= 5)
        {
            Assert.Equal(4, ok.NumPartitions);
        }

        Assert.Equal(ErrorCode.InvalidConfig, bad.ErrorCode);
        await AssertDoesNotExistAsync(client, name);

        // And a real create of the same name still works.
        Assert.Equal(ErrorCode.None, (await BrokerKit.CreateTopicAsync(client, name, 4, null, version)).ErrorCode);
    }

    [Theory]
    [MemberData(nameof(DeleteVersions))]
    public async Task A_deleted_topic_disappears_and_a_recreated_one_starts_at_offset_zero(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"delete-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 1);
        await BrokerKit.ProduceOkAsync(client, name, 0, BrokerKit.Batch(3, BrokerKit.Now, tag: "old"));
        await BrokerKit.ProduceOkAsync(client, name, 0, BrokerKit.Batch(2, BrokerKit.Now, tag: "old"));
        await BrokerKit.ConsumeBatchesAsync(client, name, 0, 0, 2);

        var deleted = await DeleteAsync(client, name, version);

        Assert.Equal(ErrorCode.None, deleted.ErrorCode);
        await AssertDoesNotExistAsync(client, name);
        var fetch = await BrokerKit.FetchAsync(client, name, 0, 0);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, fetch.ErrorCode);

        await BrokerKit.CreateTopicOkAsync(client, name, 1);
        byte[] fresh = BrokerKit.Batch(1, BrokerKit.Now, tag: "new");
        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, name, 0, fresh));
        var batches = await BrokerKit.ConsumeBatchesAsync(client, name, 0, 0, 1);
        Assert.Equal(BrokerKit.Stamped(fresh, 0), Assert.Single(batches));
        Assert.Equal(0, await BrokerKit.EarliestOffsetAsync(client, name));
        Assert.Equal(1, await BrokerKit.LatestOffsetAsync(client, name));
    }

    [Theory]
    [MemberData(nameof(DeleteVersions))]
    public async Task Deleting_an_unknown_topic_is_UNKNOWN_TOPIC_OR_PARTITION(short version)
    {
        using var client = await Silo.ConnectAsync();

        var deleted = await DeleteAsync(client, BrokerKit.NewTopic($"never-v{version}"), version);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, deleted.ErrorCode);
    }

    [Theory]
    [MemberData(nameof(CreatePartitionsVersions))]
    public async Task CreatePartitions_grows_a_topic_and_the_new_partitions_take_records(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"grow-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 1);
        await BrokerKit.ProduceOkAsync(client, name, 0, BrokerKit.Batch(2, BrokerKit.Now));

        var result = await CreatePartitionsAsync(client, name, 3, version);

        Assert.Equal(ErrorCode.None, result.ErrorCode);
        Assert.Equal([0, 1, 2], (await BrokerKit.DescribeTopicAsync(client, name)).Partitions.Select(p => p.PartitionIndex).Order());
        byte[] batch = BrokerKit.Batch(1, BrokerKit.Now, tag: "p2");
        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, name, 2, batch));
        Assert.Equal(BrokerKit.Stamped(batch, 0), Assert.Single(await BrokerKit.ConsumeBatchesAsync(client, name, 2, 0, 1)));
        Assert.Single(await BrokerKit.ConsumeBatchesAsync(client, name, 0, 0, 1)); // partition 0 kept its data
    }

    [Theory]
    [MemberData(nameof(CreatePartitionsVersions))]
    public async Task CreatePartitions_to_fewer_or_as_many_partitions_is_INVALID_PARTITIONS(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"shrink-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 3);

        var fewer = await CreatePartitionsAsync(client, name, 2, version);
        var same = await CreatePartitionsAsync(client, name, 3, version);

        Assert.Equal(ErrorCode.InvalidPartitions, fewer.ErrorCode);
        Assert.Equal(ErrorCode.InvalidPartitions, same.ErrorCode);
        Assert.Equal(3, (await BrokerKit.DescribeTopicAsync(client, name)).Partitions.Count);
    }

    [Theory]
    [MemberData(nameof(CreatePartitionsVersions))]
    public async Task CreatePartitions_validate_only_and_unknown_topics_change_nothing(short version)
    {
        using var client = await Silo.ConnectAsync();
        string name = BrokerKit.NewTopic($"grow-validate-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, name, 1);

        var validated = await CreatePartitionsAsync(client, name, 4, version, validateOnly: true);
        var unknown = await CreatePartitionsAsync(client, BrokerKit.NewTopic("grow-unknown"), 4, version);

        Assert.Equal(ErrorCode.None, validated.ErrorCode);
        Assert.Single((await BrokerKit.DescribeTopicAsync(client, name)).Partitions);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknown.ErrorCode);
    }

    private static async Task<DeleteTopicsResponse.Result> DeleteAsync(KafkaTestClient client, string name, short version)
    {
        var response = await client.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = [name], TimeoutMs = 30_000 }, version);
        var result = Assert.Single(response.Responses);
        Assert.Equal(name, result.Name);
        return result;
    }

    private static async Task<CreatePartitionsResponse.Result> CreatePartitionsAsync(KafkaTestClient client, string name, int count, short version, bool validateOnly = false)
    {
        var request = new CreatePartitionsRequest
        {
            ValidateOnly = validateOnly,
            Topics = [new CreatePartitionsRequest.Topic { Name = name, Count = count, Assignments = null }],
        };
        var response = await client.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(request, version);
        var result = Assert.Single(response.Results);
        Assert.Equal(name, result.Name);
        return result;
    }

    private static async Task AssertDoesNotExistAsync(KafkaTestClient client, string name)
    {
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (await BrokerKit.DescribeTopicAsync(client, name)).ErrorCode);
        Assert.DoesNotContain(name, await BrokerKit.AllTopicNamesAsync(client));
    }

    internal static async Task<Dictionary<string, DescribeConfigsResponse.Config>> DescribeTopicConfigsAsync(KafkaTestClient client, string name, short version = 4)
    {
        var request = new DescribeConfigsRequest { Resources = [new DescribeConfigsRequest.Resource { ResourceType = ConfigResourceType.Topic, ResourceName = name }] };
        var response = await client.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(request, version);
        var result = Assert.Single(response.Results);
        Assert.Equal(ErrorCode.None, result.ErrorCode);
        return result.Configs.ToDictionary(c => c.Name, StringComparer.Ordinal);
    }
}
