using OrleansMQ.Client.Consumer;
using OrleansMQ.Client.Producer;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Cluster;
using OrleansMQ.Client.DependencyInjection;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Admin;

/// <summary>The admin client against a real silo: topics, configs, groups with a kcat consumer, offsets and lag.</summary>
#pragma warning disable CA1001 // The admin client is disposed in IAsyncLifetime.DisposeAsync.
public sealed class KafkaAdminClientTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private TestSilo _silo = null!;
    private KafkaAdminClient _admin = null!;

    public async Task InitializeAsync()
    {
        _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0" });
        _admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = _silo.Bootstrap });
    }

    public async Task DisposeAsync()
    {
        await _admin.DisposeAsync();
        await _silo.DisposeAsync();
    }

    [Fact]
    public async Task Creates_lists_describes_grows_and_deletes_topics()
    {
        var created = await _admin.CreateTopicAsync(new NewTopic("admin-orders", 3, 1) { Configs = new Dictionary<string, string?> { ["retention.ms"] = "3600000" } });
        Assert.Equal(3, created.Partitions);
        Assert.Equal(1, created.ReplicationFactor);

        var listed = await _admin.ListTopicsAsync();
        var orders = Assert.Single(listed, t => t.Name == "admin-orders");
        Assert.Equal(3, orders.PartitionCount);
        Assert.False(orders.IsInternal);

        var described = await _admin.DescribeTopicAsync("admin-orders");
        Assert.Equal([0, 1, 2], described.Partitions.Select(p => p.Partition));
        Assert.All(described.Partitions, p =>
        {
            Assert.Equal(0, p.Leader);
            Assert.Equal([0], p.Replicas);
            Assert.Equal([0], p.Isr);
            Assert.Equal(ErrorCode.None, p.Error);
        });
        var retention = Assert.Single(described.Configs, c => c.Name == "retention.ms");
        Assert.Equal("3600000", retention.Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, retention.Source);
        Assert.False(retention.IsDefault);
        Assert.Contains(described.Configs, c => c.Name == "cleanup.policy" && c.IsDefault);

        await _admin.AddPartitionsAsync("admin-orders", 5);
        Assert.Equal(5, (await _admin.DescribeTopicAsync("admin-orders")).Partitions.Count);
        var shrink = await Assert.ThrowsAsync<KafkaException>(() => _admin.AddPartitionsAsync("admin-orders", 2));
        Assert.Equal(ErrorCode.InvalidPartitions, shrink.ErrorCode);

        await _admin.DeleteTopicsAsync(["admin-orders"]);
        Assert.DoesNotContain(await _admin.ListTopicsAsync(), t => t.Name == "admin-orders");
        var gone = await Assert.ThrowsAsync<KafkaException>(() => _admin.DescribeTopicAsync("admin-orders"));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, gone.ErrorCode);
    }

    [Fact]
    public async Task Topic_errors_carry_the_brokers_code()
    {
        await _admin.CreateTopicAsync(new NewTopic("admin-dup", 1));
        var exists = await Assert.ThrowsAsync<KafkaException>(() => _admin.CreateTopicAsync(new NewTopic("admin-dup", 1)));
        Assert.Equal(ErrorCode.TopicAlreadyExists, exists.ErrorCode);
        Assert.Contains("admin-dup", exists.Message, StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<KafkaException>(() => _admin.CreateTopicAsync(new NewTopic("bad name!", 1)));
        Assert.Equal(ErrorCode.InvalidTopicException, invalid.ErrorCode);

        var badConfig = await Assert.ThrowsAsync<KafkaException>(() => _admin.CreateTopicAsync(new NewTopic("admin-badconfig", 1) { Configs = new Dictionary<string, string?> { ["retention.ms"] = "soon" } }));
        Assert.Equal(ErrorCode.InvalidConfig, badConfig.ErrorCode);

        var unknown = await Assert.ThrowsAsync<KafkaException>(() => _admin.DeleteTopicsAsync(["admin-never"]));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknown.ErrorCode);
        var unknownConfigs = await Assert.ThrowsAsync<KafkaException>(() => _admin.DescribeTopicConfigsAsync("admin-never"));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknownConfigs.ErrorCode);
        var unknownGrow = await Assert.ThrowsAsync<KafkaException>(() => _admin.AddPartitionsAsync("admin-never", 4));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknownGrow.ErrorCode);
    }

    [Fact]
    public async Task Validate_only_checks_without_creating()
    {
        var validated = await _admin.CreateTopicAsync(new NewTopic("admin-dry", 4), validateOnly: true);
        Assert.Equal(4, validated.Partitions);
        Assert.DoesNotContain(await _admin.ListTopicsAsync(), t => t.Name == "admin-dry");
        var invalid = await Assert.ThrowsAsync<KafkaException>(() => _admin.CreateTopicAsync(new NewTopic("admin-dry", 0), validateOnly: true));
        Assert.Equal(ErrorCode.InvalidPartitions, invalid.ErrorCode);
    }

    [Fact]
    public async Task Describes_topic_and_broker_configs()
    {
        await _admin.CreateTopicAsync(new NewTopic("admin-configs", 1) { Configs = new Dictionary<string, string?> { ["retention.bytes"] = "1048576" } });
        var only = await _admin.DescribeTopicConfigsAsync("admin-configs", ["retention.bytes"]);
        var retention = Assert.Single(only);
        Assert.Equal("1048576", retention.Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, retention.Source);

        var broker = await _admin.DescribeBrokerConfigsAsync(0);
        Assert.Equal("0", Assert.Single(broker, c => c.Name == "broker.id").Value);
        Assert.Contains(broker, c => c.Name == "num.partitions" && c.IsReadOnly);
    }

    [Fact]
    public async Task Lists_offsets_earliest_latest_and_by_time()
    {
        await _admin.CreateTopicAsync(new NewTopic("admin-offsets", 2));
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        await Kcat.ProduceAsync(_silo, "admin-offsets", 0, 7);
        await Kcat.ProduceAsync(_silo, "admin-offsets", 1, 3);

        var earliest = await _admin.ListOffsetsAsync("admin-offsets", OffsetSpec.Earliest);
        Assert.Equal([0L, 0L], earliest.Select(o => o.Offset));
        var latest = await _admin.ListOffsetsAsync("admin-offsets", OffsetSpec.Latest);
        Assert.Equal([7L, 3L], latest.Select(o => o.Offset));
        var fromPast = await _admin.ListOffsetsAsync("admin-offsets", OffsetSpec.ForTime(before));
        Assert.Equal([0L, 0L], fromPast.Select(o => o.Offset));
        var future = await _admin.ListOffsetsAsync([new TopicPartition("admin-offsets", 1)], OffsetSpec.ForTime(DateTimeOffset.UtcNow.AddHours(1)));
        Assert.Equal(-1, Assert.Single(future).Offset);

        var missing = await Assert.ThrowsAsync<KafkaException>(() => _admin.ListOffsetsAsync([new TopicPartition("admin-offsets", 9)], OffsetSpec.Latest));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, missing.ErrorCode);
    }

    [Fact]
    public async Task A_kcat_group_is_described_with_its_member_assignment_and_lag_then_reset_and_deleted()
    {
        const string topic = "admin-group-topic";
        const string group = "admin-group";
        await _admin.CreateTopicAsync(new NewTopic(topic, 3));
        for (int p = 0; p < 3; p++)
        {
            await Kcat.ProduceAsync(_silo, topic, p, 10);
        }

        await using var consumer = Kcat.StartConsumer(_silo, group, topic, "admin-kcat");
        string Diagnostics() => $"\nkcat stderr:\n{consumer.Stderr}";

        // The member and its assignment, decoded from the consumer protocol.
        var described = await Kcat.WaitAsync(() => _admin.DescribeGroupAsync(group), d => d.State == "Stable" && d.Members.Count == 1 && d.Members[0].Assignment.Count == 3, Wait, "one stable member owning 3 partitions", Diagnostics);
        Assert.Equal("consumer", described.ProtocolType);
        Assert.False(string.IsNullOrEmpty(described.Protocol));
        var member = described.Members[0];
        Assert.Equal("admin-kcat", member.ClientId);
        Assert.Equal([topic], member.Subscription);
        Assert.Equal([0, 1, 2], member.Assignment.Where(a => a.Topic == topic).Select(a => a.Partition).Order());
        Assert.Contains(await _admin.ListGroupsAsync(), g => g.GroupId == group && g.ProtocolType == "consumer");

        // Everything consumed and committed (auto-commit every 5 s): lag 0, each partition owned by the member.
        var lag = await Kcat.WaitAsync(() => _admin.DescribeGroupLagAsync(group), l => l.Partitions.Count == 3 && l.Partitions.All(p => p.Lag == 0), Wait, "lag 0", Diagnostics);
        Assert.All(lag.Partitions, p =>
        {
            Assert.Equal(10, p.LogEndOffset);
            Assert.Equal(10, p.CommittedOffset);
            Assert.Equal(member.MemberId, p.MemberId);
            Assert.Equal("admin-kcat", p.ClientId);
        });

        // More messages: the lag is log end − committed while the member is away from them.
        await Kcat.ProduceAsync(_silo, topic, 1, 5);
        await Kcat.WaitAsync(() => _admin.DescribeGroupLagAsync(group), l => l.Partitions.Single(p => p.Partition == 1).LogEndOffset == 15, Wait, "log end 15");

        // An active group: reset and delete are refused, as in Kafka.
        var refused = await Assert.ThrowsAsync<KafkaException>(() => _admin.ResetGroupOffsetsAsync(group, new OffsetResetTarget.ToEarliest(), [topic]));
        Assert.Equal(ErrorCode.NonEmptyGroup, refused.ErrorCode);
        Assert.Contains("Stable", refused.Message, StringComparison.Ordinal);
        var rawCommit = await Assert.ThrowsAsync<KafkaException>(() => _admin.AlterGroupOffsetsAsync(group, new Dictionary<TopicPartition, long> { [new(topic, 0)] = 0 }));
        Assert.NotEqual(ErrorCode.None, rawCommit.ErrorCode);
        var deleteActive = await Assert.ThrowsAsync<KafkaException>(() => _admin.DeleteGroupsAsync([group]));
        Assert.Equal(ErrorCode.NonEmptyGroup, deleteActive.ErrorCode);

        // Stopped cleanly: the group is empty and its offsets can move.
        await consumer.StopAsync();
        await Kcat.WaitAsync(() => _admin.DescribeGroupAsync(group), d => d.State == "Empty", Wait, "group empty", Diagnostics);
        var committed = await _admin.ListGroupOffsetsAsync(group);
        Assert.Equal([10L, 15L, 10L], committed.Select(c => c.Offset));

        var dryRun = await _admin.ResetGroupOffsetsAsync(group, new OffsetResetTarget.ToEarliest(), [topic], dryRun: true);
        Assert.All(dryRun, r => Assert.Equal(0, r.NewOffset));
        Assert.Equal([10L, 15L, 10L], dryRun.Select(r => r.CurrentOffset!.Value));
        Assert.Equal([10L, 15L, 10L], (await _admin.ListGroupOffsetsAsync(group)).Select(c => c.Offset));

        await _admin.ResetGroupOffsetsAsync(group, new OffsetResetTarget.ToEarliest(), [topic]);
        var reset = await _admin.DescribeGroupLagAsync(group);
        Assert.Equal(35, reset.TotalLag);
        Assert.All(reset.Partitions, p => Assert.Equal(0, p.CommittedOffset));

        var explicitOffset = await _admin.ResetGroupOffsetsAsync(group, new OffsetResetTarget.ToOffset(12), null);
        Assert.Equal([10L, 12L, 10L], explicitOffset.Select(r => r.NewOffset)); // clamped to each log end
        var latest = await _admin.ResetGroupOffsetsAsync(group, new OffsetResetTarget.ToDateTime(DateTimeOffset.UtcNow.AddHours(1)), [topic]);
        Assert.Equal([10L, 15L, 10L], latest.Select(r => r.NewOffset)); // nothing after the time: log end
        Assert.Equal(0, (await _admin.DescribeGroupLagAsync(group)).TotalLag);
        await _admin.ResetGroupOffsetsAsync(group, new OffsetResetTarget.ToDateTime(DateTimeOffset.UtcNow.AddHours(-1)), [topic]);
        Assert.Equal(35, (await _admin.DescribeGroupLagAsync(group)).TotalLag);

        // Offsets deleted for one partition, then the whole group.
        await _admin.DeleteGroupOffsetsAsync(group, topic, [2]);
        Assert.Equal([0, 1], (await _admin.ListGroupOffsetsAsync(group)).Select(c => c.Partition));
        await _admin.DeleteGroupsAsync([group]);
        Assert.DoesNotContain(await _admin.ListGroupsAsync(), g => g.GroupId == group);
        var deleted = await _admin.DescribeGroupAsync(group);
        Assert.True(deleted.IsInactive, deleted.State); // Kafka says Dead; this silo says Empty
        Assert.Empty(deleted.Members);
        Assert.Empty(await _admin.ListGroupOffsetsAsync(group));
        var again = await Assert.ThrowsAsync<KafkaException>(() => _admin.DeleteGroupsAsync([group]));
        Assert.Equal(ErrorCode.GroupIdNotFound, again.ErrorCode);
    }

    [Fact]
    public async Task Offsets_can_be_set_for_a_new_group_and_lag_follows()
    {
        await _admin.CreateTopicAsync(new NewTopic("admin-standalone", 1));
        await Kcat.ProduceAsync(_silo, "admin-standalone", 0, 4);
        await _admin.AlterGroupOffsetsAsync("admin-standalone-group", new Dictionary<TopicPartition, long> { [new("admin-standalone", 0)] = 1 });
        var lag = await _admin.DescribeGroupLagAsync("admin-standalone-group");
        Assert.Equal("Empty", lag.Group.State);
        var partition = Assert.Single(lag.Partitions);
        Assert.Equal((1L, 4L, 3L), (partition.CommittedOffset!.Value, partition.LogEndOffset, partition.Lag!.Value));
        Assert.Null(partition.MemberId);
    }

    [Fact]
    public async Task Registers_options_a_shared_cluster_and_the_admin_client_in_DI()
    {
        var services = new ServiceCollection();
        var builder = services.AddOrleansMQClient(o => o with { BootstrapServers = _silo.Bootstrap, ClientId = "di-test" });
        Assert.Same(services, builder.Services);
        await using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<ClientOptions>();
        Assert.Equal("di-test", options.ClientId);
        var admin = provider.GetRequiredService<KafkaAdminClient>();
        Assert.Same(provider.GetRequiredService<KafkaCluster>(), admin.Cluster);
        Assert.Same(admin, provider.GetRequiredService<KafkaAdminClient>());
        await admin.CreateTopicAsync(new NewTopic("admin-di", 2));
        Assert.Contains(await admin.ListTopicsAsync(), t => t.Name == "admin-di" && t.PartitionCount == 2);

        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddOrleansMQClient(o => o with { BootstrapServers = "no-port" }));
    }

    [Fact]
    public async Task Registers_a_producer_over_the_shared_cluster_in_DI()
    {
        var services = new ServiceCollection();
        services.AddOrleansMQClient(o => o with { BootstrapServers = _silo.Bootstrap }).AddOrleansMQProducer(p => p with { Linger = TimeSpan.Zero });
        DeliveryResult delivered;
        await using (var provider = services.BuildServiceProvider())
        {
            var producer = provider.GetRequiredService<KafkaProducer>();
            Assert.Same(producer, provider.GetRequiredService<KafkaProducer>());
            delivered = await producer.ProduceAsync("admin-di-producer", "k"u8.ToArray(), "v"u8.ToArray());
        }

        Assert.Equal(0, delivered.Offset);
        Assert.Equal(["v"], await Kcat.ConsumeAsync(_silo.Bootstrap, "admin-di-producer", "%s\n"));

        // A consumer on the same client settings reads it back as a group member.
        var consumerServices = new ServiceCollection();
        consumerServices.AddOrleansMQClient(o => o with { BootstrapServers = _silo.Bootstrap })
            .AddOrleansMQConsumer(c => c with { GroupId = "admin-di-group", AutoOffsetReset = AutoOffsetReset.Earliest, SessionTimeout = TimeSpan.FromSeconds(6) });
        await using var consumerProvider = consumerServices.BuildServiceProvider();
        var consumer = consumerProvider.GetRequiredService<KafkaConsumer>();
        consumer.Subscribe(["admin-di-producer"]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var record in consumer.ConsumeAsync(cts.Token))
        {
            Assert.Equal("v", System.Text.Encoding.UTF8.GetString(record.Value!));
            break;
        }
    }

    [Fact]
    public async Task An_unreachable_cluster_is_a_connection_error()
    {
        int port = TestSilo.FreePort();
        await using var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), ConnectTimeout = TimeSpan.FromSeconds(1) });
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => admin.ListTopicsAsync());
        Assert.Equal(ErrorCode.NetworkException, error.ErrorCode);
    }
}
