using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// AlterConfigs v0–v2, IncrementalAlterConfigs v0–v1, DescribeLogDirs v1–v4 and DescribeProducers
/// v0 against a real silo, in every version it advertises; each change is checked where a user
/// would see it (DescribeConfigs, a produce refused, the bytes on disk).
/// </summary>
public sealed class ClusterAdminTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> IncrementalVersions = [0, 1];

    public static readonly TheoryData<short> AlterVersions = [0, 1, 2];

    public static readonly TheoryData<short> LogDirsVersions = [1, 2, 3, 4];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(IncrementalVersions))]
    public async Task IncrementalAlterConfigs_set_shows_in_DescribeConfigs_and_limits_produce_then_delete_restores_the_default(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"incr-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("retention.ms", "3600000"));
        byte[] big = BrokerKit.Batch(1, BrokerKit.Now, valueSize: 4000);
        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, big));

        var set = await IncrementalAsync(client, topic, version, ("max.message.bytes", AlterConfigOperation.Set, "2048"));
        Assert.Equal(ErrorCode.None, set.ErrorCode);

        var configs = await TopicAdminTests.DescribeTopicConfigsAsync(client, topic);
        Assert.Equal("2048", configs["max.message.bytes"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, configs["max.message.bytes"].ConfigSource);
        Assert.Equal("3600000", configs["retention.ms"].Value); // incremental: the other configs stay

        var refused = await BrokerKit.ProduceAsync(client, topic, 0, BrokerKit.Batch(1, BrokerKit.Now, valueSize: 4000));
        Assert.Equal(ErrorCode.MessageTooLarge, refused.ErrorCode);
        Assert.Equal(1, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(1, BrokerKit.Now, valueSize: 100)));

        var delete = await IncrementalAsync(client, topic, version, ("max.message.bytes", AlterConfigOperation.Delete, null));
        Assert.Equal(ErrorCode.None, delete.ErrorCode);
        configs = await TopicAdminTests.DescribeTopicConfigsAsync(client, topic);
        Assert.Equal("1048588", configs["max.message.bytes"].Value);
        Assert.Equal(ConfigSource.DefaultConfig, configs["max.message.bytes"].ConfigSource);
        Assert.Equal(2, await BrokerKit.ProduceOkAsync(client, topic, 0, big));
    }

    [Theory]
    [MemberData(nameof(IncrementalVersions))]
    public async Task IncrementalAlterConfigs_refusals_carry_their_Kafka_codes_and_change_nothing(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"incr-bad-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("retention.ms", "3600000"));

        var unknown = await IncrementalAsync(client, topic, version, ("retention.ms", AlterConfigOperation.Set, "1000"), ("retention.msx", AlterConfigOperation.Set, "1"));
        Assert.Equal(ErrorCode.InvalidConfig, unknown.ErrorCode);
        Assert.Contains("retention.msx", unknown.ErrorMessage, StringComparison.Ordinal);

        var badValue = await IncrementalAsync(client, topic, version, ("retention.ms", AlterConfigOperation.Set, "soon"));
        Assert.Equal(ErrorCode.InvalidConfig, badValue.ErrorCode);

        var append = await IncrementalAsync(client, topic, version, ("retention.ms", AlterConfigOperation.Append, "5"));
        Assert.Equal(ErrorCode.InvalidConfig, append.ErrorCode);
        Assert.Contains("not a list", append.ErrorMessage, StringComparison.Ordinal);

        var twice = await IncrementalAsync(client, topic, version, ("retention.ms", AlterConfigOperation.Set, "1000"), ("retention.ms", AlterConfigOperation.Delete, null));
        Assert.Equal(ErrorCode.InvalidRequest, twice.ErrorCode);

        var noValue = await IncrementalAsync(client, topic, version, ("retention.ms", AlterConfigOperation.Set, null));
        Assert.Equal(ErrorCode.InvalidRequest, noValue.ErrorCode);

        var missing = await IncrementalAsync(client, BrokerKit.NewTopic("nope"), version, ("retention.ms", AlterConfigOperation.Set, "1000"));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, missing.ErrorCode);

        Assert.Equal("3600000", (await TopicAdminTests.DescribeTopicConfigsAsync(client, topic))["retention.ms"].Value);

        // APPEND on the one list config is accepted (the value stays valid: only 'delete' is supported).
        var appended = await IncrementalAsync(client, topic, version, ("cleanup.policy", AlterConfigOperation.Append, "delete"));
        Assert.Equal(ErrorCode.None, appended.ErrorCode);
        var subtracted = await IncrementalAsync(client, topic, version, ("cleanup.policy", AlterConfigOperation.Subtract, "delete"));
        Assert.Equal(ErrorCode.InvalidConfig, subtracted.ErrorCode); // an empty cleanup.policy is not valid
    }

    [Theory]
    [MemberData(nameof(IncrementalVersions))]
    public async Task Broker_configs_are_static_and_refused_with_INVALID_REQUEST(short version)
    {
        using var client = await Silo.ConnectAsync();
        var request = new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new()
                {
                    ResourceType = ConfigResourceType.Broker,
                    ResourceName = Silo.Identity.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Configs = [new() { Name = "log.retention.ms", ConfigOperation = AlterConfigOperation.Set, Value = "1000" }],
                },
            ],
        };
        var response = await client.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(request, version);
        var result = Assert.Single(response.Responses);
        Assert.Equal(ErrorCode.InvalidRequest, result.ErrorCode);
        Assert.Contains("appsettings.json", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(ConfigResourceType.Broker, result.ResourceType);
    }

    [Theory]
    [MemberData(nameof(AlterVersions))]
    public async Task AlterConfigs_replaces_the_whole_set_and_validate_only_changes_nothing(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"alter-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("retention.ms", "3600000"));

        var dry = await AlterAsync(client, topic, version, validateOnly: true, ("max.message.bytes", "2048"));
        Assert.Equal(ErrorCode.None, dry.ErrorCode);
        var configs = await TopicAdminTests.DescribeTopicConfigsAsync(client, topic);
        Assert.Equal("3600000", configs["retention.ms"].Value);
        Assert.Equal(ConfigSource.DefaultConfig, configs["max.message.bytes"].ConfigSource);

        var done = await AlterAsync(client, topic, version, validateOnly: false, ("max.message.bytes", "2048"));
        Assert.Equal(ErrorCode.None, done.ErrorCode);
        configs = await TopicAdminTests.DescribeTopicConfigsAsync(client, topic);
        Assert.Equal("2048", configs["max.message.bytes"].Value);
        Assert.Equal(ConfigSource.DefaultConfig, configs["retention.ms"].ConfigSource); // not in the new set: back to the default

        var bad = await AlterAsync(client, topic, version, validateOnly: false, ("no.such.config", "1"));
        Assert.Equal(ErrorCode.InvalidConfig, bad.ErrorCode);
        Assert.Equal("2048", (await TopicAdminTests.DescribeTopicConfigsAsync(client, topic))["max.message.bytes"].Value);
    }

    [Theory]
    [MemberData(nameof(LogDirsVersions))]
    public async Task DescribeLogDirs_reports_the_data_directory_and_a_partition_growing_by_the_batch_produced(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"logdirs-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 2);

        long before = PartitionSize(await LogDirsAsync(client, topic, version), topic, 1);
        Assert.Equal(0, before);

        byte[] batch = BrokerKit.Batch(5, BrokerKit.Now, valueSize: 300);
        long offset = await BrokerKit.ProduceOkAsync(client, topic, 1, batch);
        await BrokerKit.EventuallyAsync(() => Silo.Engine.TryGetPartition(topic, 1, out var log) && log.HighWatermark > offset, "the batch is dispatched");

        var response = await LogDirsAsync(client, topic, version);
        var dir = Assert.Single(response.Results);
        Assert.Equal(ErrorCode.None, dir.ErrorCode);
        Assert.Equal(Path.GetFullPath(Silo.DataDirectory), Path.GetFullPath(dir.LogDir));
        Assert.Equal(batch.Length, PartitionSize(response, topic, 1));
        Assert.Equal(0, PartitionSize(response, topic, 0));
        if (version >= 4)
        {
            Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0 && dir.UsableBytes <= dir.TotalBytes, $"total {dir.TotalBytes}, usable {dir.UsableBytes}");
        }
        else
        {
            Assert.Equal(-1, dir.TotalBytes);
        }

        // All topics (null): ours is among them.
        var all = await client.SendAsync<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, version);
        Assert.Contains(Assert.Single(all.Results).Topics, t => t.Name == topic && t.Partitions.Count == 2);
    }

    [Fact]
    public async Task DescribeProducers_lists_an_idempotent_producer_with_its_epoch_and_last_sequence()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("producers");
        await BrokerKit.CreateTopicOkAsync(client, topic, 2);
        var init = await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionTimeoutMs = -1 }, 2);
        Assert.Equal(ErrorCode.None, init.ErrorCode);
        long before = BrokerKit.Now;

        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(init.ProducerId, init.ProducerEpoch, 0, records: 3));
        await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(init.ProducerId, init.ProducerEpoch, 3, records: 2));
        await BrokerKit.ProduceOkAsync(client, topic, 1, BrokerKit.Batch(1, BrokerKit.Now)); // not idempotent: no producer state

        var request = new DescribeProducersRequest { Topics = [new() { Name = topic, PartitionIndexes = [0, 1, 7] }] };
        var response = await client.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(request, 0);
        var partitions = Assert.Single(response.Topics).Partitions;

        var p0 = Assert.Single(partitions, p => p.PartitionIndex == 0);
        Assert.Equal(ErrorCode.None, p0.ErrorCode);
        var producer = Assert.Single(p0.ActiveProducers);
        Assert.Equal(init.ProducerId, producer.ProducerId);
        Assert.Equal(init.ProducerEpoch, producer.ProducerEpoch);
        Assert.Equal(4, producer.LastSequence);
        Assert.InRange(producer.LastTimestamp, before - 1000, BrokerKit.Now + 1000);
        Assert.Equal(-1, producer.CurrentTxnStartOffset);

        Assert.Empty(Assert.Single(partitions, p => p.PartitionIndex == 1).ActiveProducers);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Assert.Single(partitions, p => p.PartitionIndex == 7).ErrorCode);
    }

    [Fact]
    public async Task DescribeProducers_rebuilds_the_state_from_the_log_after_a_restart()
    {
        await using var silo = await TestSilo.StartAsync();
        string topic = BrokerKit.NewTopic("producers-restart");
        long producerId;
        using (var client = await silo.ConnectAsync())
        {
            await BrokerKit.CreateTopicOkAsync(client, topic, 1);
            var init = await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionTimeoutMs = -1 }, 2);
            producerId = init.ProducerId;
            await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(producerId, init.ProducerEpoch, 0, records: 4));
        }

        await silo.RestartAsync();

        using var after = await silo.ConnectAsync();
        var response = await after.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(
            new DescribeProducersRequest { Topics = [new() { Name = topic, PartitionIndexes = [0] }] }, 0);
        var producer = Assert.Single(Assert.Single(Assert.Single(response.Topics).Partitions).ActiveProducers);
        Assert.Equal((producerId, 3), (producer.ProducerId, producer.LastSequence));
    }

    private static async Task<IncrementalAlterConfigsResponse.Result> IncrementalAsync(KafkaTestClient client, string topic, short version, params (string Name, AlterConfigOperation Operation, string? Value)[] changes)
    {
        var request = new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new()
                {
                    ResourceType = ConfigResourceType.Topic,
                    ResourceName = topic,
                    Configs = changes.Select(c => new IncrementalAlterConfigsRequest.Config { Name = c.Name, ConfigOperation = c.Operation, Value = c.Value }).ToList(),
                },
            ],
        };
        var response = await client.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(request, version);
        var result = Assert.Single(response.Responses);
        Assert.Equal((ConfigResourceType.Topic, topic), (result.ResourceType, result.ResourceName));
        return result;
    }

    private static async Task<AlterConfigsResponse.Result> AlterAsync(KafkaTestClient client, string topic, short version, bool validateOnly, params (string Name, string? Value)[] configs)
    {
        var request = new AlterConfigsRequest
        {
            ValidateOnly = validateOnly,
            Resources =
            [
                new()
                {
                    ResourceType = ConfigResourceType.Topic,
                    ResourceName = topic,
                    Configs = configs.Select(c => new AlterConfigsRequest.Config { Name = c.Name, Value = c.Value }).ToList(),
                },
            ],
        };
        var response = await client.SendAsync<AlterConfigsRequest, AlterConfigsResponse>(request, version);
        return Assert.Single(response.Responses);
    }

    private static Task<DescribeLogDirsResponse> LogDirsAsync(KafkaTestClient client, string topic, short version) =>
        client.SendAsync<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = [new() { Name = topic, Partitions = [0, 1] }] }, version);

    private static long PartitionSize(DescribeLogDirsResponse response, string topic, int partition) =>
        Assert.Single(Assert.Single(Assert.Single(response.Results).Topics, t => t.Name == topic).Partitions, p => p.PartitionIndex == partition).PartitionSize;
}
