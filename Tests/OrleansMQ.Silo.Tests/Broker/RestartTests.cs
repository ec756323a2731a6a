using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>What a clean restart must keep: topics, configs, data, offsets, the cluster id, producer ids and producer state.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Topics_keep_their_partitions_configs_data_and_offsets_across_a_restart()
    {
        await using var silo = await TestSilo.StartAsync();
        string topic = BrokerKit.NewTopic("durable");
        string auto = BrokerKit.NewTopic("durable-auto");
        byte[][] p0 = [BrokerKit.Batch(3, BrokerKit.Now, CompressionCodec.None, "a"), BrokerKit.Batch(4, BrokerKit.Now, CompressionCodec.Gzip, "b")];
        byte[] p2 = BrokerKit.Batch(2, BrokerKit.Now, CompressionCodec.None, "c");
        string clusterId;
        using (var client = await silo.ConnectAsync())
        {
            await BrokerKit.CreateTopicOkAsync(client, topic, 3, ("retention.ms", "3600000"), ("max.message.bytes", "20000"));
            Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, p0[0]));
            Assert.Equal(3, await BrokerKit.ProduceOkAsync(client, topic, 0, p0[1]));
            Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 2, p2));
            Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, auto, 0, p2)); // auto-created by the produce
            await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 2);
            await BrokerKit.ConsumeBatchesAsync(client, topic, 2, 0, 1);
            await BrokerKit.ConsumeBatchesAsync(client, auto, 0, 0, 1);
            clusterId = (await BrokerKit.MetadataAsync(client, null)).ClusterId!;
        }

        await silo.RestartAsync();

        using var after = await silo.ConnectAsync();
        var metadata = await BrokerKit.MetadataAsync(after, [topic, auto], allowAutoCreate: false);
        Assert.Equal(clusterId, metadata.ClusterId);
        Assert.Equal(silo.Port, Assert.Single(metadata.Brokers).Port);
        var t = Assert.Single(metadata.Topics, x => x.Name == topic);
        Assert.Equal(ErrorCode.None, t.ErrorCode);
        Assert.Equal([0, 1, 2], t.Partitions.Select(p => p.PartitionIndex).Order());
        Assert.Equal(ErrorCode.None, Assert.Single(metadata.Topics, x => x.Name == auto).ErrorCode);

        var configs = await TopicAdminTests.DescribeTopicConfigsAsync(after, topic);
        Assert.Equal("3600000", configs["retention.ms"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, configs["retention.ms"].ConfigSource);
        Assert.Equal("20000", configs["max.message.bytes"].Value);

        var batches = await BrokerKit.ConsumeBatchesAsync(after, topic, 0, 0, 2);
        Assert.Equal(BrokerKit.Stamped(p0[0], 0), batches[0]);
        Assert.Equal(BrokerKit.Stamped(p0[1], 3), batches[1]);
        Assert.Equal(BrokerKit.Stamped(p2, 0), Assert.Single(await BrokerKit.ConsumeBatchesAsync(after, topic, 2, 0, 1)));
        Assert.Equal(BrokerKit.Stamped(p2, 0), Assert.Single(await BrokerKit.ConsumeBatchesAsync(after, auto, 0, 0, 1)));

        Assert.Equal(7, await BrokerKit.LatestOffsetAsync(after, topic, 0));
        Assert.Equal(0, await BrokerKit.LatestOffsetAsync(after, topic, 1));
        Assert.Equal(2, await BrokerKit.LatestOffsetAsync(after, topic, 2));
        Assert.Equal(0, await BrokerKit.EarliestOffsetAsync(after, topic, 0));

        // Appends continue where they stopped, and the config is still enforced.
        Assert.Equal(7, await BrokerKit.ProduceOkAsync(after, topic, 0, BrokerKit.Batch(1, BrokerKit.Now)));
        var tooLarge = await BrokerKit.ProduceAsync(after, topic, 0, BrokerKit.Batch(1, BrokerKit.Now, valueSize: 25_000));
        Assert.Equal(ErrorCode.MessageTooLarge, tooLarge.ErrorCode);
    }

    [Fact]
    public async Task A_deleted_topic_stays_deleted_after_a_restart()
    {
        await using var silo = await TestSilo.StartAsync();
        string topic = BrokerKit.NewTopic("gone");
        using (var client = await silo.ConnectAsync())
        {
            await BrokerKit.CreateTopicOkAsync(client, topic, 2);
            await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(2, BrokerKit.Now));
            await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);
            var deleted = await client.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = [topic] }, 4);
            Assert.Equal(ErrorCode.None, Assert.Single(deleted.Responses).ErrorCode);
        }

        await silo.RestartAsync();

        using var after = await silo.ConnectAsync();
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (await BrokerKit.DescribeTopicAsync(after, topic)).ErrorCode);
        Assert.DoesNotContain(topic, await BrokerKit.AllTopicNamesAsync(after));
    }

    [Fact]
    public async Task Producer_ids_never_repeat_across_restarts()
    {
        await using var silo = await TestSilo.StartAsync();
        var seen = new HashSet<long>();
        for (int round = 0; round < 3; round++)
        {
            using (var client = await silo.ConnectAsync())
            {
                for (short version = 0; version <= 2; version++)
                {
                    var response = await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, version);
                    Assert.Equal(ErrorCode.None, response.ErrorCode);
                    Assert.True(response.ProducerId >= 0);
                    Assert.True(seen.Add(response.ProducerId), $"producer id {response.ProducerId} handed out twice (round {round})");
                }
            }

            await silo.RestartAsync();
        }
    }

    [Fact]
    public async Task A_retried_idempotent_batch_is_still_recognised_after_a_restart()
    {
        await using var silo = await TestSilo.StartAsync();
        string topic = BrokerKit.NewTopic("idem-restart");
        long producerId;
        byte[] second;
        using (var client = await silo.ConnectAsync())
        {
            await BrokerKit.CreateTopicOkAsync(client, topic, 1);
            producerId = (await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest(), 2)).ProducerId;
            second = BrokerKit.IdempotentBatch(producerId, 0, 1);
            Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(producerId, 0, 0)));
            Assert.Equal(1, await BrokerKit.ProduceOkAsync(client, topic, 0, second));
            await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 2);
        }

        await silo.RestartAsync();

        using var after = await silo.ConnectAsync();
        var retry = await BrokerKit.ProduceAsync(after, topic, 0, second);
        Assert.Equal(ErrorCode.None, retry.ErrorCode);
        Assert.Equal(1, retry.BaseOffset);
        Assert.Equal(2, await BrokerKit.LatestOffsetAsync(after, topic));

        var gap = await BrokerKit.ProduceAsync(after, topic, 0, BrokerKit.IdempotentBatch(producerId, 0, 5));
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, gap.ErrorCode);
        Assert.Equal(2, await BrokerKit.ProduceOkAsync(after, topic, 0, BrokerKit.IdempotentBatch(producerId, 0, 2)));
        Assert.Equal(3, (await BrokerKit.ConsumeBatchesAsync(after, topic, 0, 0, 3)).Count);
    }
}
