using System.Text.Json;
using OrleansMQ.Cli;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cli;

/// <summary>
/// omq cluster, elect-leaders, reassign, reassignments and delete-records end to end, in-process
/// against one real silo; what they change is checked through the admin client and a consumer's view (ListOffsets).
/// </summary>
public sealed class OmqReplicationAdminTests : OmqSiloTests
{
    [Fact]
    public async Task Cluster_shows_the_broker_and_the_controller()
    {
        await using var admin = new KafkaAdminClient(Client);
        var cluster = await admin.DescribeClusterAsync();
        var broker = Assert.Single(cluster.Brokers);
        Assert.Equal(broker.Id, cluster.ControllerId);

        var run = await OmqAsync("cluster");
        AssertOk(run);
        Assert.Contains($"Cluster {cluster.ClusterId}, controller {cluster.ControllerId}", run.Out, StringComparison.Ordinal);
        Assert.Contains(run.Lines, l => Cells(l) is [var id, "*", _, var port, "-"] && id == broker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) && port == Silo.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var json = JsonDocument.Parse((await OmqAsync("cluster", "-o", "json")).Out).RootElement;
        Assert.Equal(cluster.ClusterId, json.GetProperty("clusterId").GetString());
    }

    [Fact]
    public async Task Delete_records_moves_the_earliest_offset_consumers_see()
    {
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic("del-orders", 1));
        await using (var producer = new KafkaProducer(Client))
        {
            for (int i = 0; i < 10; i++)
            {
                await producer.ProduceAsync("del-orders", null, [(byte)i], partition: 0);
            }
        }

        var run = await OmqAsync("delete-records", "--topic", "del-orders", "--partition", "0", "--before", "7");
        AssertOk(run);
        Assert.Contains("del-orders-0 now starts at offset 7.", run.Out, StringComparison.Ordinal);
        Assert.Equal(7, Assert.Single(await admin.ListOffsetsAsync("del-orders", OffsetSpec.Earliest)).Offset);

        var tooFar = await OmqAsync("delete-records", "--topic", "del-orders", "--partition", "0", "--before", "11");
        Assert.Equal(OmqCli.ExitKafkaError, tooFar.Exit);
        Assert.Contains("OFFSET_OUT_OF_RANGE", tooFar.Err, StringComparison.Ordinal);

        AssertOk(await OmqAsync("delete-records", "--topic", "del-orders", "--partition", "0", "--before", "-1"));
        Assert.Equal(10, Assert.Single(await admin.ListOffsetsAsync("del-orders", OffsetSpec.Earliest)).Offset);
    }

    [Fact]
    public async Task Elect_leaders_reassign_and_reassignments_on_one_broker()
    {
        await using var admin = new KafkaAdminClient(Client);
        await admin.CreateTopicAsync(new NewTopic("elect-orders", 2));
        int self = (await admin.DescribeClusterAsync()).Brokers[0].Id;

        var elect = await OmqAsync("elect-leaders", "--topic", "elect-orders");
        AssertOk(elect);
        Assert.Equal(2, elect.Lines.Count(l => Cells(l) is ["elect-orders", _, "ELECTION_NOT_NEEDED", ..]));
        var results = await admin.ElectLeadersAsync(Protocol.Kafka.ElectionType.Unclean, [new TopicPartition("elect-orders", 1)]);
        Assert.Equal(Protocol.Kafka.ErrorCode.ElectionNotNeeded, Assert.Single(results).Error);

        var refused = await OmqAsync("reassign", "--topic", "elect-orders", "--partition", "0", "--replicas", $"{self},42");
        Assert.Equal(OmqCli.ExitKafkaError, refused.Exit);
        Assert.Contains("INVALID_REPLICA_ASSIGNMENT", refused.Err, StringComparison.Ordinal);

        var usage = await OmqAsync("reassign", "--topic", "elect-orders", "--partition", "0");
        Assert.Equal(OmqCli.ExitUsage, usage.Exit);

        var none = await OmqAsync("reassignments", "-o", "json");
        AssertOk(none);
        Assert.Equal(0, JsonDocument.Parse(none.Out).RootElement.GetArrayLength());
        Assert.Empty(await admin.ListPartitionReassignmentsAsync());
    }
}
