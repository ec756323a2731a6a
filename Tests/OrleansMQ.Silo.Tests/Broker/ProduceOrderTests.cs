using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// One connection's Produce requests are appended in the order they were sent, even when many
/// are in flight and each waits for a flush (sync flush makes every append complete later, the
/// situation in which later requests used to overtake earlier ones).
/// </summary>
public sealed class ProduceOrderTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("async")]
    public async Task Pipelined_produce_requests_are_appended_in_request_order(string flush)
    {
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Storage:Flush"] = flush });
        string topic = BrokerKit.NewTopic("order");
        Assert.True((await silo.Topics.CreateAsync(topic, 3, 1, [], validateOnly: false)).IsOk);
        using var client = await silo.ConnectAsync();

        const int Requests = 200;
        var ids = new List<int>();
        for (int i = 0; i < Requests; i++)
        {
            // Every request writes to all three partitions, so a request that waits on one
            // partition's flush would let the next one overtake it on the others.
            var request = new ProduceRequest
            {
                Acks = -1,
                TimeoutMs = 30_000,
                Topics = [new() { Name = topic, Partitions = [.. Enumerable.Range(0, 3).Select(p => new ProduceRequest.Partition { Index = p, Records = BrokerKit.Batch(1, 1000 + i, tag: $"req{i}") })] }],
            };
            ids.Add(await client.SendOnlyAsync(request, 9));
        }

        var baseOffsets = new long[3][];
        for (int p = 0; p < 3; p++)
        {
            baseOffsets[p] = new long[Requests];
        }

        for (int i = 0; i < Requests; i++)
        {
            var response = await client.ReceiveAsync<ProduceResponse>(ApiKey.Produce, 9, ids[i]);
            foreach (var partition in response.Topics.Single().Partitions)
            {
                Assert.Equal(ErrorCode.None, partition.ErrorCode);
                baseOffsets[partition.Index][i] = partition.BaseOffset;
            }
        }

        for (int p = 0; p < 3; p++)
        {
            Assert.Equal(Enumerable.Range(0, Requests).Select(i => (long)i), baseOffsets[p]);
        }
    }
}
