using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// A data folder written before the Orleans control plane (the home-made grain host kept one JSON
/// file per grain under grains/k-&lt;Type&gt;/) comes back whole: its topics with their partitions
/// and configs over the data already in the CommitLog, its cluster id, and producer ids past the
/// block it had handed out.
/// </summary>
public sealed class LegacyStateImportTests
{
    [Fact]
    public async Task A_data_folder_from_the_earlier_grain_host_keeps_its_topics_data_cluster_id_and_producer_ids()
    {
        await using var silo = await TestSilo.StartAsync();
        byte[] batch = BrokerKit.Batch(3, BrokerKit.Now, CompressionCodec.None, "old");
        using (var client = await silo.ConnectAsync())
        {
            await BrokerKit.CreateTopicOkAsync(client, "legacy", 3, ("retention.ms", "3600000"));
            Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, "legacy", 2, batch));
        }

        // What the earlier host left on disk: its files (this layout and these field names), no Orleans grain state.
        string grains = Path.Combine(silo.DataDirectory, "grains");
        await silo.RestartAsync(() =>
        {
            Directory.Delete(grains, recursive: true);
            Write(Path.Combine(grains, "k-TopicGrain", "k-legacy.json"), """
                { "Key": "legacy", "State": { "Exists": true, "TopicId": "6a1f0a52-3c61-4b8e-9d0e-2f1d3c4b5a69", "Partitions": 3,
                  "Configs": { "retention.ms": "3600000" }, "CreatedAt": "2026-11-20T10:00:00+00:00" } }
                """);
            Write(Path.Combine(grains, "k-Cluster", "k-id.json"), """{ "Key": "id", "State": { "Id": "LegacyClusterId-abcdefg" } }""");
            Write(Path.Combine(grains, "k-ProducerIdBlock", "k-block.json"), """{ "Key": "block", "State": { "NextBlockStart": 7000 } }""");
        });

        using (var client = await silo.ConnectAsync())
        {
            var metadata = await BrokerKit.MetadataAsync(client, ["legacy"], allowAutoCreate: false);
            Assert.Equal("LegacyClusterId-abcdefg", metadata.ClusterId);
            var topic = Assert.Single(metadata.Topics);
            Assert.Equal(ErrorCode.None, topic.ErrorCode);
            Assert.Equal(3, topic.Partitions.Count);
            Assert.Equal("3600000", (await TopicAdminTests.DescribeTopicConfigsAsync(client, "legacy"))["retention.ms"].Value);
            Assert.Equal(BrokerKit.Stamped(batch, 0), Assert.Single(await BrokerKit.ConsumeBatchesAsync(client, "legacy", 2, 0, 1)));
            var producer = await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionTimeoutMs = 60_000 }, 1);
            Assert.True(producer.ProducerId >= 7000, $"producer id {producer.ProducerId} may repeat one handed out before the upgrade");
        }

        Assert.True(Directory.Exists(Path.Combine(grains, "k-TopicGrain.imported")));
        Assert.False(Directory.Exists(Path.Combine(grains, "k-TopicGrain")));

        // Imported once: the next start has it in the new grain state and finds nothing to import.
        await silo.RestartAsync();
        using var after = await silo.ConnectAsync();
        Assert.Equal(3, (await BrokerKit.DescribeTopicAsync(after, "legacy")).Partitions.Count);
        Assert.Equal(3, await BrokerKit.LatestOffsetAsync(after, "legacy", 2));
    }

    private static void Write(string path, string json)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
    }
}
