using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansMQ.Cli;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cli;

/// <summary>
/// omq configs set|delete, omq log-dirs and omq producers end to end, in-process against a real
/// silo, with the managed producer (idempotent by default) writing the data they report.
/// </summary>
public sealed class OmqClusterAdminTests : OmqSiloTests
{
    [Fact]
    public async Task Configs_set_and_delete_change_what_describe_shows_and_what_the_broker_accepts()
    {
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic("cfg-orders", 1) { Configs = new Dictionary<string, string?> { ["retention.ms"] = "3600000" } });

        var set = await OmqAsync("configs", "set", "--topic", "cfg-orders", "max.message.bytes=2048", "segment.ms=600000");
        AssertOk(set);
        Assert.Contains("Altered configs of topic 'cfg-orders': max.message.bytes=2048, segment.ms=600000.", set.Out, StringComparison.Ordinal);

        var describe = await OmqAsync("configs", "describe", "--topic", "cfg-orders");
        AssertOk(describe);
        Assert.Contains(describe.Lines, l => Cells(l) is ["max.message.bytes", "2048", "topic"]);
        Assert.Contains(describe.Lines, l => Cells(l) is ["segment.ms", "600000", "topic"]);
        Assert.Contains(describe.Lines, l => Cells(l) is ["retention.ms", "3600000", "topic"]);

        // The new limit is the broker's: a 4 KB record is refused, a small one goes through.
        await using (var producer = new KafkaProducer(Client, new ProducerOptions { Retries = 0 }))
        {
            var tooLarge = await Assert.ThrowsAsync<KafkaException>(() => producer.ProduceAsync("cfg-orders", null, new byte[4000], partition: 0));
            Assert.Equal(ErrorCode.MessageTooLarge, tooLarge.ErrorCode);
            await producer.ProduceAsync("cfg-orders", null, new byte[100], partition: 0);
        }

        var dry = await OmqAsync("configs", "set", "--topic", "cfg-orders", "retention.ms=1000", "--validate-only");
        AssertOk(dry);
        Assert.Contains("Validated (not applied)", dry.Out, StringComparison.Ordinal);

        var delete = await OmqAsync("configs", "delete", "--topic", "cfg-orders", "max.message.bytes", "-o", "json");
        AssertOk(delete);
        var json = JsonDocument.Parse(delete.Out).RootElement;
        Assert.Equal("delete", json.GetProperty("changes")[0].GetProperty("operation").GetString());

        var configs = (await admin.DescribeTopicConfigsAsync("cfg-orders")).ToDictionary(c => c.Name);
        Assert.Equal("1048588", configs["max.message.bytes"].Value);
        Assert.True(configs["max.message.bytes"].IsDefault);
        Assert.Equal("3600000", configs["retention.ms"].Value); // the dry run changed nothing

        var unknown = await OmqAsync("configs", "set", "--topic", "cfg-orders", "retention.msx=1");
        Assert.Equal(OmqCli.ExitKafkaError, unknown.Exit);
        Assert.Contains("INVALID_CONFIG", unknown.Err, StringComparison.Ordinal);
        Assert.Contains("retention.msx", unknown.Err, StringComparison.Ordinal);

        var usage = await OmqAsync("configs", "set", "--topic", "cfg-orders", "retention.ms");
        Assert.Equal(OmqCli.ExitUsage, usage.Exit);
        Assert.Equal(OmqCli.ExitUsage, (await OmqAsync("configs", "set", "retention.ms=1")).Exit);
    }

    [Fact]
    public async Task Admin_client_AlterTopicConfigs_replaces_the_set_and_refuses_broker_configs_cleanly()
    {
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic("cfg-replace", 1) { Configs = new Dictionary<string, string?> { ["retention.ms"] = "3600000" } });

        await admin.AlterTopicConfigsAsync("cfg-replace", new Dictionary<string, string?> { ["segment.ms"] = "600000" });
        var configs = (await admin.DescribeTopicConfigsAsync("cfg-replace")).ToDictionary(c => c.Name);
        Assert.Equal("600000", configs["segment.ms"].Value);
        Assert.True(configs["retention.ms"].IsDefault);

        var append = await Assert.ThrowsAsync<KafkaException>(() => admin.IncrementalAlterTopicConfigsAsync("cfg-replace", [new ConfigAlteration("segment.ms", AlterConfigOperation.Append, "5")]));
        Assert.Equal(ErrorCode.InvalidConfig, append.ErrorCode);
        var missing = await Assert.ThrowsAsync<KafkaException>(() => admin.IncrementalAlterTopicConfigsAsync("cfg-none", [ConfigAlteration.Set("segment.ms", "5")]));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, missing.ErrorCode);
    }

    [Fact]
    public async Task Log_dirs_shows_a_partition_growing_after_a_produce()
    {
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic("dirs-orders", 2));

        var before = await admin.DescribeLogDirsAsync();
        var dir = Assert.Single(before);
        Assert.Equal(Silo.Identity.NodeId, dir.BrokerId);
        Assert.Equal(Path.GetFullPath(Silo.DataDirectory), dir.Path);
        Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0, $"{dir}");
        Assert.Equal(0, PartitionSize(before, "dirs-orders", 1));

        await using (var producer = new KafkaProducer(Client))
        {
            for (int i = 0; i < 20; i++)
            {
                await producer.ProduceAsync("dirs-orders", null, Encoding.UTF8.GetBytes(new string('x', 500)), partition: 1);
            }
        }

        // The size counts what the dispatcher has indexed, a moment behind the acknowledgement.
        long size = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((size = PartitionSize(await admin.DescribeLogDirsAsync(), "dirs-orders", 1)) <= 20 * 500 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(size > 20 * 500, $"partition 1 holds {size} bytes after 20 records of 500");

        var table = await OmqAsync("log-dirs", "--topic", "dirs-orders");
        AssertOk(table);
        Assert.Contains($"Broker {Silo.Identity.NodeId}: {Path.GetFullPath(Silo.DataDirectory)}", table.Out, StringComparison.Ordinal);
        Assert.Contains(table.Lines, l => Cells(l) is ["dirs-orders", "1", var s, "0"] && long.Parse(s, CultureInfo.InvariantCulture) >= size);
        Assert.Contains(table.Lines, l => Cells(l) is ["dirs-orders", "0", "0", "0"]);
        Assert.DoesNotContain(table.Lines, l => l.StartsWith("__", StringComparison.Ordinal));

        var json = await OmqAsync("log-dirs", "-o", "json", "--broker", Silo.Identity.NodeId.ToString(CultureInfo.InvariantCulture));
        AssertOk(json);
        var partitions = JsonDocument.Parse(json.Out).RootElement[0].GetProperty("partitions");
        Assert.Contains(partitions.EnumerateArray(), p => p.GetProperty("topic").GetString() == "dirs-orders" && p.GetProperty("sizeBytes").GetInt64() >= size);
    }

    [Fact]
    public async Task Producers_lists_the_idempotent_producer_that_wrote_to_each_partition()
    {
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic("prod-orders", 2));

        long producerId;
        await using (var producer = new KafkaProducer(Client))
        {
            for (int i = 0; i < 5; i++)
            {
                await producer.ProduceAsync("prod-orders", null, Encoding.UTF8.GetBytes($"m{i}"), partition: 0);
            }

            producerId = producer.ProducerId;
        }

        Assert.True(producerId >= 0, "the managed producer is idempotent by default");

        var described = await admin.DescribeProducersAsync("prod-orders");
        Assert.Equal([0, 1], described.Select(p => p.Partition));
        var active = Assert.Single(described[0].Producers);
        Assert.Equal(producerId, active.ProducerId);
        Assert.Equal(4, active.LastSequence);
        Assert.Empty(described[1].Producers);

        var table = await OmqAsync("producers", "--topic", "prod-orders");
        AssertOk(table);
        Assert.Equal(["PARTITION", "PRODUCER-ID", "EPOCH", "LAST-SEQUENCE", "LAST-TIMESTAMP"], Cells(table.Lines[0]));
        Assert.Contains(table.Lines, l => Cells(l) is ["0", var id, "0", "4", _, _] && id == producerId.ToString(CultureInfo.InvariantCulture));

        var unknownPartition = await OmqAsync("producers", "--topic", "prod-orders", "--partition", "9");
        Assert.Equal(OmqCli.ExitKafkaError, unknownPartition.Exit);
        Assert.Contains("UNKNOWN_TOPIC_OR_PARTITION", unknownPartition.Err, StringComparison.Ordinal);
    }

    private static long PartitionSize(IReadOnlyList<LogDirDescription> dirs, string topic, int partition) =>
        Assert.Single(Assert.Single(dirs).Partitions, p => p.Topic == topic && p.Partition == partition).SizeBytes;
}
